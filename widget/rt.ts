/// <reference lib="dom" />
/**
 * rt.js — the Ringtrace site widget.
 *
 * Snippet: <script async src="{BASE}/rt.js" data-site="{SITE_KEY}"></script>
 *
 * It reports the visit (POST {BASE}/t/visit), shows the number the server leased to this visit
 * in place of the site's own numbers (text in any common format, tel: links, [data-rt-phone]),
 * keeps the lease alive with heartbeats while the page is visible (POST {BASE}/t/ping) and says
 * goodbye on pagehide. A site that leases lazily (leaseOn: visible) answers the visit with `deferred`:
 * the page keeps its own numbers until one of them enters the viewport or is clicked, copied or
 * touched, and only then asks for the visit's number (POST {BASE}/t/lease).
 * Requests are plain-text JSON so no CORS preflight is needed.
 * Leads (POST {BASE}/t/lead): ringtrace('lead', {...}), and form submissions that carry a phone or
 * an email (password, hidden, file and card-like fields are never read; `data-rt-nolead` opts out).
 *
 * Built by widget/build.ts into one minified IIFE; it must stay tiny and never throw into the
 * host page, so every entry point (start, listeners, timers, callbacks) is wrapped in try/catch.
 */
export {};

interface PhoneNumber {
  e164: string;
  display: string;
  /** Digit-string variants in a fixed order: international, national with trunk prefix, national significant. */
  digits: string[];
}
interface Replaceable {
  e164: string;
  digits: string[];
}
interface VisitResponse {
  visitor: string;
  visit: string;
  number: PhoneNumber | null;
  replace: Replaceable[];
  heartbeatSeconds: number;
  deferred?: boolean;
}
/** sessionStorage `_rt_num`: the last answer of this visit, so the next page swaps at once. */
interface NumberCache {
  v: string;
  n: PhoneNumber;
  r: Replaceable[];
}
/** localStorage `_rt_visit`: visit id and last activity (ms), shared by the tabs of the site. */
interface StoredVisit {
  id: string;
  t: number;
}
/** ringtrace('lead', …): what a site may send; anything else is dropped. */
interface Lead {
  type?: string;
  phone?: string;
  email?: string;
  name?: string;
  fields?: Record<string, unknown>;
  id?: string;
}
type Api = ((cmd: string, arg?: any) => unknown) & {
  q?: ArrayLike<unknown>[];
  l?: 1;
};

const W = window as Window & { ringtrace?: Api };
const D = document;
/** A visit ends after 30 minutes without activity (the usual web-analytics session rule). */
const VISIT_TTL = 18e5;
const VISIT_KEY = '_rt_visit';
const NUM_KEY = '_rt_num';
/** Where numbers must not be touched: code, form fields, and explicit opt-outs. */
const SKIP = 'script,style,noscript,textarea,input,[data-rt-noswap]';
const PHONE_EL = '[data-rt-phone]';
const TEL = 'a[href^="tel:"]';
/** A phone-like run: digits with the separators people print numbers with. */
const RUN = /\+?\d[\d\s\-\u2010-\u2015().]{6,}\d/g;
/** Field names never sent: the server's rules (src/leads/sensitive.ts) and any autocomplete cc-*. */
const SENSITIVE =
  /pass|pwd|парол|secret|token|card|карт|cc[-_ ]?(num|exp|csc|cvv|name)|cc-|cvv|cvc|csc|cvn|security[-_ ]?code|expir|exp[-_ ]?(date|month|year)|iban|account[-_ ]?number|routing|ssn|passport|паспорт|\bpin\b/i;

const noop = () => {};
/** Wraps a callback so that nothing it does can throw into the host page. */
const safe =
  <A extends unknown[]>(f: (...a: A) => unknown) =>
  (...a: A): void => {
    try {
      f(...a);
    } catch {
      /* never break the host page */
    }
  };

const store = (area: 'localStorage' | 'sessionStorage', key: string, value?: unknown): any => {
  // Storage access itself throws when cookies/storage are blocked, hence the try.
  try {
    if (value === undefined) return JSON.parse(W[area].getItem(key) as string);
    W[area].setItem(key, JSON.stringify(value));
  } catch {
    /* storage unavailable: the widget still works for this page */
  }
};

const cookie = (name: string): string | undefined => {
  const m = D.cookie.match(new RegExp('(?:^|;\\s*)' + name + '=([^;]*)'));
  return m ? m[1] : undefined;
};

function start(): void {
  if (W.ringtrace && W.ringtrace.l) return; // loaded twice (e.g. snippet + GTM tag)
  const script = (D.currentScript ||
    D.querySelector('script[data-site][src*="rt.js"]')) as HTMLScriptElement | null;
  if (!script) return;
  const site = script.getAttribute('data-site');
  const base = new URL(script.src).origin;

  let visitor = cookie('_rt_vid');
  let visit: string | undefined;
  let last = Date.now(); // our own last activity time, to spot a visit that ended while hidden
  let num: PhoneNumber | null = null;
  /** Digit variants to replace: the site's numbers and the number shown before, if it changed. */
  let known: string[][] = [];
  let answered = false;
  let timer = 0;
  const waiting: ((n: PhoneNumber | null) => void)[] = [];
  /** Leads made before the visit id is known. */
  const later: Lead[] = [];

  const saved: StoredVisit | null = store('localStorage', VISIT_KEY);
  if (saved && Date.now() - saved.t < VISIT_TTL) visit = saved.id;

  const touch = () => {
    last = Date.now();
    if (visit) store('localStorage', VISIT_KEY, { id: visit, t: last } satisfies StoredVisit);
  };

  const post = (path: string, body: string) =>
    // No headers: a string body goes as text/plain, a "simple" request without preflight.
    fetch(base + path, { method: 'POST', body, keepalive: true });
  /** A request that must survive the page going away: sendBeacon, fetch keepalive as the fallback. */
  const beacon = (path: string, body: string) => {
    if (!(navigator.sendBeacon && navigator.sendBeacon(base + path, body))) post(path, body).catch(noop);
  };

  const lead = (d: Lead) => {
    if (!visit) return later.push(d);
    // A random client id per lead: the server ignores a repeat of the same id for the visit.
    const b: Record<string, unknown> = {
      visit,
      type: 'other',
      id: Date.now().toString(36) + Math.random().toString(36).slice(2, 9),
      url: location.href,
    };
    for (const k of ['type', 'phone', 'email', 'name', 'id', 'fields'] as const) {
      let v = d[k];
      if (k === 'fields' && v) {
        const f: Record<string, string> = {};
        for (const n in v as Lead['fields']) if (!SENSITIVE.test(n)) f[n] = String(d.fields![n]);
        v = f;
      }
      if (v != null) b[k] = v;
    }
    beacon('/t/lead', JSON.stringify(b));
  };

  /** Form capture: phone, email and name inputs of a submitted form; nothing else is read. */
  const onSubmit = (e: Event) => {
    const form = e.target as HTMLFormElement;
    // A sign-in (a current-password field) is a customer logging in, not a lead.
    if (form.closest('[data-rt-nolead]') || form.querySelector('[autocomplete="current-password"]')) return;
    const d: Lead = { type: 'form' };
    form.querySelectorAll('input').forEach((el) => {
      const k = (el.name + ' ' + el.id + ' ' + el.getAttribute('autocomplete')).toLowerCase();
      const t = el.type;
      const v = el.value.trim();
      // Text-like inputs only: never password, hidden, file (nor checkboxes and the like).
      if (!v || !/^(text|tel|email|number)$/.test(t) || SENSITIVE.test(k)) return;
      if (t === 'email' || /mail/.test(k)) {
        if (!d.email && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) d.email = v;
      } else if (t === 'tel' || /phone|tel|телефон/.test(k)) {
        if (!d.phone && /(\d\D*){7}/.test(v)) d.phone = v.slice(0, 40);
      } else if (/name|имя|fio|фио/.test(k) && !/user|login|compan|org/.test(k))
        d.name = (d.name ? d.name + ' ' + v : v).slice(0, 200); // first + last name fields
    });
    if (d.phone || d.email) lead(d);
  };

  /**
   * Rewrites the site's numbers inside one phone-like run. The run is split into digit groups;
   * any consecutive groups whose digits equal a known variant are rewritten digit by digit with
   * the same variant of the shown number, so the page's own format survives. Group-aligned
   * matching also copes with runs that glue a number to neighbouring digits ("9-21 8 495 …").
   */
  const swapRun = (run: string): string => {
    const parts = run.split(/(\d+)/); // digit groups at odd indexes
    for (let i = 1; i < parts.length; i += 2) {
      let d = '';
      for (let j = i; j < parts.length && d.length < 16; j += 2) {
        d += parts[j];
        for (const variants of known) {
          const k = variants.indexOf(d);
          if (k < 0) continue;
          const to = num!.digits[k];
          let n = 0;
          const mid = parts.slice(i, j + 1).join('');
          return (
            parts.slice(0, i).join('') +
            // Another digit count (e.g. another country's format): fall back to the display form.
            (to && to.length === d.length ? mid.replace(/\d/g, () => to[n++] as string) : num!.display) +
            swapRun(parts.slice(j + 1).join(''))
          );
        }
      }
    }
    return run;
  };
  const swapText = (s: string) => s.replace(RUN, swapRun);

  const fixPhoneEl = (el: Element) => {
    if (el.closest('[data-rt-noswap]')) return;
    const d = (el.textContent || '').replace(/\D/g, '');
    // Already shows the number (the text walk swapped it): leave the markup alone.
    if (!num!.digits.some((x) => d.indexOf(x) >= 0)) el.textContent = num!.display;
    if (el.matches(TEL)) el.setAttribute('href', 'tel:' + num!.e164);
  };

  const swapTextNode = (t: Text) => {
    const s = swapText(t.data);
    if (s !== t.data && !t.parentElement!.closest(SKIP)) t.data = s;
  };

  /** Calls f for each text node under el; f may change a node's text but not replace nodes. */
  const eachText = (el: Element, f: (t: Text) => void) => {
    const walker = D.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) f(t as Text);
  };
  /** Calls f for el and each element under it that matches sel. */
  const eachEl = (el: Element, sel: string, f: (e: Element) => void) => {
    if (el.matches(sel)) f(el);
    el.querySelectorAll(sel).forEach(f);
  };

  /** Swaps numbers in a node and its subtree. Writes only on change, so it is idempotent. */
  const swap = (node: Node) => {
    const body = D.body;
    if (!num || !body || !body.contains(node)) return;
    if (node.nodeType === 3) swapTextNode(node as Text);
    else if (node.nodeType === 1) {
      const el = node as Element;
      // Text first: fixPhoneEl may replace text nodes, which would cut a running walk short.
      eachText(el, swapTextNode);
      eachEl(el, TEL, (a) => {
        const href = a.getAttribute('href')!;
        // A tel: link always dials the E.164 form, whatever format the page used.
        if (!a.closest(SKIP) && swapText(href) !== href) a.setAttribute('href', 'tel:' + num!.e164);
      });
      eachEl(el, PHONE_EL, fixPhoneEl);
    } else return;
    // Content added inside a [data-rt-phone] element (a framework filling it in later).
    const owner = (node.nodeType === 1 ? (node as Element) : node.parentElement)!.closest(PHONE_EL);
    if (owner) fixPhoneEl(owner);
  };

  const OBSERVE: MutationObserverInit = { childList: true, subtree: true, characterData: true };
  /** Runs f with the observer paused so our own edits do not come back as mutations. */
  const quietly = (f: () => void) => {
    observer.disconnect();
    try {
      f();
    } finally {
      observer.observe(D.documentElement, OBSERVE);
    }
  };
  const observer = new MutationObserver(
    safe((records: MutationRecord[]) => {
      const each = (f: (n: Node) => void) => {
        for (const r of records) {
          if (r.type === 'characterData') f(r.target);
          else r.addedNodes.forEach(f);
        }
      };
      if (num) quietly(() => each(swap));
      else if (io) each(find); // numbers the page shows later are watched too
    }),
  );

  const setNumber = (n: PhoneNumber, replace: Replaceable[]) => {
    // The number shown so far is replaceable too (a cached number the server has now changed),
    // but the new number never is: that would make swaps loop.
    known = replace
      .map((r) => r.digits)
      .concat(num ? [num.digits] : [])
      .filter((d) => d[0] !== n.digits[0]);
    num = n;
    if (D.body) quietly(() => swap(D.body));
  };

  /** Shows the visit's number (none: the page keeps its own) and remembers it for the visit's next page. */
  const show = (n: PhoneNumber | null, r: Replaceable[]) => {
    if (n) setNumber(n, r);
    store('sessionStorage', NUM_KEY, n ? ({ v: visit!, n, r } satisfies NumberCache) : null);
  };

  // Lazy leasing: the page's own numbers are watched; the first one seen or touched asks for the lease.
  let io: IntersectionObserver | 0 = 0;
  let rep: Replaceable[] = [];
  const watched: Element[] = [];
  const lease = () => {
    if (!io) return;
    io.disconnect();
    io = 0;
    post('/t/lease', JSON.stringify({ site, visitor, visit }))
      .then((r) => r.json())
      .then((res: { number: PhoneNumber | null }) => show(res.number, rep))
      .catch(noop);
  };
  /** Whether a text or href shows one of the site's numbers, in any of its digit variants. */
  const shows = (s: string | null) => {
    const d = (s || '').replace(/\D/g, '');
    return known.some((v) => v.some((x) => d.indexOf(x) >= 0));
  };
  const watch = (el: Element | null) => {
    if (io && el && !el.closest(SKIP)) {
      watched.push(el);
      io.observe(el);
    }
  };
  /** Watches the elements of a subtree that show one of the site's numbers. */
  const find = (node: Node) => {
    if (node.nodeType === 3) shows((node as Text).data) && watch(node.parentElement);
    else if (node.nodeType === 1) {
      const el = node as Element;
      eachText(el, (t) => shows(t.data) && watch(t.parentElement));
      eachEl(el, TEL, (a) => shows(a.getAttribute('href')) && watch(a));
      eachEl(el, PHONE_EL, watch);
    }
  };

  const onVisit = (res: VisitResponse) => {
    visitor = res.visitor;
    visit = res.visit;
    D.cookie =
      '_rt_vid=' +
      visitor +
      ';max-age=31536000;path=/;SameSite=Lax' +
      (location.protocol === 'https:' ? ';Secure' : '');
    touch();
    if (!res.deferred) show(res.number, res.replace || []);
    else if (!io) {
      rep = res.replace || [];
      io = new IntersectionObserver(
        safe((es: IntersectionObserverEntry[]) => es.some((e) => e.isIntersecting) && lease()),
      );
      if (num)
        lease(); // a number cached by an earlier page is on show already
      else {
        known = rep.map((r) => r.digits);
        if (D.body) find(D.body);
      }
    }
    if (!timer)
      timer = W.setInterval(
        safe(() => D.visibilityState === 'visible' && ping()),
        (res.heartbeatSeconds || 30) * 1e3,
      );
    answered = true;
    for (const f of waiting.splice(0)) safe(f)(num);
    for (const d of later.splice(0)) safe(lead)(d);
  };

  const sendVisit = () => {
    const ga = (cookie('_ga') || '').match(/\d+\.\d+$/); // GA1.1.123.456 → 123.456
    // GA4 session per property, _ga_<container>=GS1.1.<id>.… or GS2.1.s<id>$… → "<container>:<id>,…"
    const gs = D.cookie.match(/_ga_\w+=GS\d\.\d\.s?\d+/g);
    // Undefined fields drop out of the JSON. UTM and click ids stay in `url`: the server parses them.
    post(
      '/t/visit',
      JSON.stringify({
        site,
        visitor,
        visit,
        url: location.href,
        referrer: D.referrer,
        title: D.title,
        gaClientId: ga ? ga[0] : undefined,
        ymUid: cookie('_ym_uid'),
        gaSessions: gs ? gs.map((c) => c.replace(/_ga_(\w+)=GS\d\.\d\.s?/, '$1:')).join() : undefined,
      }),
    )
      .then((r) => r.json())
      .then(onVisit)
      .catch(noop);
  };

  const ping = (leave?: boolean) => {
    if (!visit) return;
    touch();
    const body = JSON.stringify({ visit, leave });
    leave ? beacon('/t/ping', body) : post('/t/ping', body).catch(noop);
  };

  const resume = () => {
    if (D.visibilityState !== 'visible') return;
    // Hidden longer than a visit lasts: the old visit is over, let the server start a new one.
    if (visit && Date.now() - last > VISIT_TTL) {
      visit = undefined;
      sendVisit();
    } else ping();
  };

  // SPA navigation: a changed URL is a new page view of the same visit. Debounced so the app can
  // set its title, and so that push+replace bursts count once. Hash-only changes (in-page anchors)
  // are not page views.
  const path = () => location.href.split('#')[0];
  let lastUrl = path();
  let spaTimer = 0;
  const onNavigate = () => {
    clearTimeout(spaTimer);
    spaTimer = W.setTimeout(
      safe(() => {
        if (path() !== lastUrl) {
          lastUrl = path();
          sendVisit();
        }
      }),
      300,
    );
  };
  for (const m of ['pushState', 'replaceState'] as const) {
    const orig = history[m];
    history[m] = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = orig.apply(this, a);
      safe(onNavigate)();
      return r;
    };
  }
  W.addEventListener('popstate', safe(onNavigate));
  // Capture phase: runs even when the page's own handler stops the event.
  D.addEventListener('submit', safe(onSubmit), true);
  // A watched number that is clicked, copied or touched before it was seen is leased at once too.
  for (const type of ['click', 'copy', 'touchstart', 'contextmenu'])
    D.addEventListener(
      type,
      safe((e: Event) => watched.some((w) => w.contains(e.target as Node)) && lease()),
      { capture: true, passive: true },
    );
  D.addEventListener('visibilitychange', safe(resume));
  W.addEventListener(
    'pagehide',
    safe(() => ping(true)),
  );
  // Back/forward cache restore: the page is alive again.
  W.addEventListener(
    'pageshow',
    safe((e: PageTransitionEvent) => e.persisted && resume()),
  );

  // A small public API: ringtrace('number') → current number or null, ringtrace('visit'),
  // ringtrace('visitor'), ringtrace('ready', fn) → fn(number) once the server has answered,
  // ringtrace('lead', { type?, phone?, email?, name?, fields?, id? }) → POST /t/lead (sent once the
  // visit is known; type defaults to 'other').
  // Calls queued by a stub before the script loaded are replayed.
  const queued = (W.ringtrace && W.ringtrace.q) || [];
  const api: Api = (cmd, arg) => {
    if (cmd === 'ready' && arg) answered ? safe(arg)(num) : waiting.push(arg);
    if (cmd === 'lead' && arg) lead(arg);
    return ({ number: num, visit, visitor } as Record<string, unknown>)[cmd];
  };
  api.l = 1;
  W.ringtrace = api;
  for (const a of queued) safe(api)(...(Array.prototype.slice.call(a) as Parameters<Api>));

  // The next page of the same visit shows its number at once, before the network answers.
  const cached: NumberCache | null = store('sessionStorage', NUM_KEY);
  if (visit && cached && cached.v === visit) setNumber(cached.n, cached.r);
  // Observing the whole document from the start also catches what the parser adds after an
  // async script ran, and whatever the page inserts later.
  observer.observe(D.documentElement, OBSERVE);
  if (D.readyState === 'loading')
    D.addEventListener(
      'DOMContentLoaded',
      safe(() => num && quietly(() => swap(D.body))),
    );
  sendVisit();
}

safe(start)();
