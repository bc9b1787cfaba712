/**
 * A fake Ringtrace for browser tests of the widget: serves a landing page, the built widget at
 * /rt.js, and fake /t/visit and /t/ping endpoints that answer the widget contract and record
 * every request. It listens on two 127.0.0.1 ports with the same handler, so a page loaded from
 * `siteUrl` uses the widget and endpoints of `trackerUrl` cross-origin, like a real site does.
 *
 * Routes (on both ports):
 *   GET  /rt.js      the widget (buildWidget() unless `widgetJs` is given)
 *   POST /t/visit    answers the contract after `config.visitDelayMs`
 *   POST /t/ping     204
 *   POST /t/lead     201 { id } (recorded; `leads()` lists them)
 *   GET  /order      orderPage(): lead forms (see there)
 *   OPTIONS *        204 with CORS headers (recorded, so tests can assert there was no preflight)
 *   /bye             a plain page without the widget (to navigate away; also a form action)
 *   GET  anything else: landingPage(`${trackerUrl}/rt.js`, config.siteKey)
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildWidget } from '../../widget/build.js';

export interface FakeNumber {
  e164: string;
  display: string;
  digits: string[];
}
export interface FakeReplace {
  e164: string;
  digits: string[];
}
/** What /t/visit answers (the widget contract). */
export interface VisitAnswer {
  visitor: string;
  visit: string;
  number: FakeNumber | null;
  replace: FakeReplace[];
  heartbeatSeconds: number;
}

/** The site's own number printed on the landing page: +7 (495) 123-45-67. */
export const SITE_NUMBER: FakeReplace = {
  e164: '+74951234567',
  digits: ['74951234567', '84951234567', '4951234567'],
};
/** The tracking number the fake server hands out: +7 (499) 777-88-99. */
export const TRACKING_NUMBER: FakeNumber = {
  e164: '+74997778899',
  display: '+7 (499) 777-88-99',
  digits: ['74997778899', '84997778899', '4997778899'],
};

export interface FixtureConfig {
  /** data-site of the landing page snippet. */
  siteKey: string;
  /** Delay before /t/visit answers, ms. */
  visitDelayMs: number;
  heartbeatSeconds: number;
  /** The number to show; null = "change nothing". */
  number: FakeNumber | null;
  replace: FakeReplace[];
}

export interface RecordedRequest {
  /** Which listener got it. */
  port: 'site' | 'tracker';
  method: string;
  /** Path without the query string. */
  path: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
  /** Parsed JSON body, or undefined. */
  body: any;
  receivedAt: number;
  /** When the answer was sent (set later for delayed /t/visit answers). */
  respondedAt?: number;
  /** The /t/visit answer that was (or will be) sent. */
  answer?: VisitAnswer;
}

export interface FixtureServer {
  /** Origin serving the landing page, e.g. http://127.0.0.1:41234 */
  siteUrl: string;
  /** Origin serving /rt.js and /t/* (the "Ringtrace" the snippet points to). */
  trackerUrl: string;
  /** Mutable: changes apply to the next requests. */
  config: FixtureConfig;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** Recorded POST /t/visit requests. */
  visits(): RecordedRequest[];
  /** Recorded POST /t/ping requests. */
  pings(): RecordedRequest[];
  /** Recorded POST /t/lead requests. */
  leads(): RecordedRequest[];
  /** Polls `requests` until one satisfies `pred` (only those after index `from`), or rejects after `timeoutMs`. */
  waitForRequest(
    pred: (r: RecordedRequest) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export interface FixtureServerOptions extends Partial<FixtureConfig> {
  /** Widget JS to serve instead of buildWidget(). */
  widgetJs?: string;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS',
  'access-control-allow-headers': 'content-type',
};

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const listen = (server: Server) =>
  new Promise<string>((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });

export async function startFixtureServer(options: FixtureServerOptions = {}): Promise<FixtureServer> {
  const { widgetJs, ...overrides } = options;
  const js = widgetJs ?? (await buildWidget());
  const config: FixtureConfig = {
    siteKey: 'divany-test',
    visitDelayMs: 0,
    heartbeatSeconds: 30,
    number: TRACKING_NUMBER,
    replace: [SITE_NUMBER],
    ...overrides,
  };
  const requests: RecordedRequest[] = [];
  let seq = 0;
  let trackerUrl = '';

  const handler = (port: RecordedRequest['port']) => async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? url;
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const rec: RecordedRequest = {
      port,
      method: req.method ?? 'GET',
      path,
      url,
      headers: req.headers,
      raw,
      body,
      receivedAt: Date.now(),
    };
    requests.push(rec);
    const send = (status: number, type: string, text: string) => {
      res.writeHead(status, { ...CORS, 'content-type': type, 'cache-control': 'no-store' });
      res.end(text);
      rec.respondedAt = Date.now();
    };

    if (req.method === 'OPTIONS') return send(204, 'text/plain', '');
    if (path === '/rt.js') return send(200, 'application/javascript; charset=utf-8', js);
    if (path === '/t/visit' && req.method === 'POST') {
      // Same visitor and visit as sent, else new ones: what the real server does for live visits.
      const answer: VisitAnswer = {
        visitor: body?.visitor ?? `vis-${++seq}`,
        visit: body?.visit ?? `vst-${++seq}`,
        number: config.number,
        replace: config.replace,
        heartbeatSeconds: config.heartbeatSeconds,
      };
      rec.answer = answer;
      const delay = config.visitDelayMs;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      return send(200, 'application/json', JSON.stringify(answer));
    }
    if (path === '/t/ping' && req.method === 'POST') return send(204, 'text/plain', '');
    if (path === '/t/lead' && req.method === 'POST')
      return send(201, 'application/json', JSON.stringify({ id: `lead-${++seq}`, duplicate: false }));
    if (path === '/order')
      return send(200, 'text/html; charset=utf-8', orderPage(`${trackerUrl}/rt.js`, config.siteKey));
    if (path === '/favicon.ico') return send(204, 'image/x-icon', '');
    if (path === '/bye')
      return send(200, 'text/html; charset=utf-8', '<!doctype html><title>Bye</title><p>Bye</p>');
    return send(200, 'text/html; charset=utf-8', landingPage(`${trackerUrl}/rt.js`, config.siteKey));
  };

  const site = createServer(handler('site'));
  const tracker = createServer(handler('tracker'));
  const siteUrl = await listen(site);
  trackerUrl = await listen(tracker);

  const waitForRequest: FixtureServer['waitForRequest'] = (pred, timeoutMs = 5000, from = 0) =>
    new Promise((resolve, reject) => {
      const until = Date.now() + timeoutMs;
      const poll = () => {
        const hit = requests.slice(from).find(pred);
        if (hit) return resolve(hit);
        if (Date.now() > until) return reject(new Error(`no matching request within ${timeoutMs} ms`));
        setTimeout(poll, 20);
      };
      poll();
    });

  const close = (s: Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });

  return {
    siteUrl,
    trackerUrl,
    config,
    requests,
    visits: () => requests.filter((r) => r.path === '/t/visit' && r.method === 'POST'),
    pings: () => requests.filter((r) => r.path === '/t/ping' && r.method === 'POST'),
    leads: () => requests.filter((r) => r.path === '/t/lead' && r.method === 'POST'),
    waitForRequest,
    close: async () => {
      await Promise.all([close(site), close(tracker)]);
    },
  };
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * A realistic landing page of a Russian furniture shop carrying the site's number
 * +7 (495) 123-45-67 in several formats. Element ids used by tests:
 *   #phone-header   +7 (495) 123-45-67         (text of the tel: link #tel-link)
 *   #tel-link       <a href="tel:+74951234567">
 *   #fmt-spaces     8 495 123 45 67
 *   #fmt-dashes     8-495-123-45-67
 *   #fmt-plain      84951234567
 *   #fmt-intl       +7 (495) 123-45-67
 *   #fmt-hours      Пн–Вс 9:00–21:00 8 (495) 123-45-67   (number glued to other digits)
 *   #rt-phone       <span data-rt-phone> with no number in it
 *   #noswap         <p data-rt-noswap>+7 (495) 123-45-67</p>  (must stay)
 *   #other-phone    8 800 555-35-35            (another number: must stay)
 *   #inn            ИНН 7701234567             (not a phone: must stay)
 *   #jsonld         JSON-LD with "telephone": "+7 (495) 123-45-67" (a script: must stay)
 *   #comment        <textarea> containing the number (a form field: must stay)
 *   #late           inserted 1 s after load: "Звоните: +7 495 123-45-67"
 */
export function landingPage(scriptSrc: string, siteKey = 'divany-test'): string {
  return `<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Диваны на заказ — мебельная фабрика «Уютный дом»</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
  header, footer, section { padding: 16px 32px; }
  header { display: flex; justify-content: space-between; background: #f4efe8; }
  .phone { font-weight: 700; font-size: 20px; color: #7a3e12; text-decoration: none; }
</style>
<script async src="${escapeAttr(scriptSrc)}" data-site="${escapeAttr(siteKey)}"></script>
</head>
<body>
<header>
  <div class="logo">Уютный дом · мебельная фабрика</div>
  <nav><a href="#catalog">Каталог</a> · <a href="#prices">Цены</a> · <a href="#contacts">Контакты</a></nav>
  <a class="phone" id="tel-link" href="tel:+74951234567"><span id="phone-header">+7 (495) 123-45-67</span></a>
</header>
<main>
  <section class="hero">
    <h1>Диваны на заказ по вашим размерам</h1>
    <p>Изготовим диван за 14 дней. Бесплатный замер и доставка по Москве. Звоните: <b id="fmt-spaces">8 495 123 45 67</b></p>
    <p>Ответим на вопросы и рассчитаем стоимость: <span id="rt-phone" data-rt-phone>Позвонить нам</span></p>
  </section>
  <section id="catalog">
    <h2>Каталог</h2>
    <ul>
      <li>Прямой диван «Лофт» — от 45 990 ₽</li>
      <li>Угловой диван «Скандинавия» — от 72 500 ₽</li>
      <li>Диван-кровать «Комфорт» — от 58 900 ₽</li>
    </ul>
    <p>Отдел продаж: <span id="fmt-dashes">8-495-123-45-67</span></p>
  </section>
  <section id="prices">
    <h2>Цены и рассрочка</h2>
    <p>Рассрочка 0% на 12 месяцев. Для заказа по WhatsApp напишите на <span id="fmt-plain">84951234567</span>.</p>
    <p id="fmt-hours">Пн–Вс 9:00–21:00 8 (495) 123-45-67</p>
    <p>Бесплатно по России: <span id="other-phone">8 800 555-35-35</span></p>
  </section>
  <section>
    <h2>Оставьте заявку</h2>
    <form onsubmit="return false">
      <label>Комментарий <textarea id="comment" name="comment">Перезвоните на +7 (495) 123-45-67</textarea></label>
      <button type="submit">Отправить</button>
    </form>
  </section>
</main>
<footer id="contacts">
  <p>Телефон: <span id="fmt-intl">+7 (495) 123-45-67</span></p>
  <p id="noswap" data-rt-noswap>+7 (495) 123-45-67</p>
  <p>ООО «Уютный дом», <span id="inn">ИНН 7701234567</span>, Москва, ул. Мебельная, 12</p>
</footer>
<script type="application/ld+json" id="jsonld">{"@context":"https://schema.org","@type":"FurnitureStore","name":"Уютный дом","telephone":"+7 (495) 123-45-67","address":"Москва, ул. Мебельная, 12"}</script>
<script>
  window.addEventListener('load', function () {
    setTimeout(function () {
      var p = document.createElement('p');
      p.id = 'late';
      p.textContent = 'Звоните: +7 495 123-45-67';
      document.querySelector('main').appendChild(p);
    }, 1000);
  });
</script>
</body>
</html>
`;
}

/**
 * An order page with lead forms. Element ids used by tests:
 *   #order      POST /bye: name "fio" (Иван Петров), tel "phone", email "email", a password, a card
 *               number (cc-number), a CVC, a hidden field, a consent checkbox and a comment textarea
 *   #nolead     data-rt-nolead, with a phone and an email (must send nothing)
 *   #nameonly   only a name (no phone or email: must send nothing)
 *   #signin     an email and a current-password field: a login, not a lead (must send nothing)
 * The #nolead, #nameonly and #signin forms do not navigate.
 */
export function orderPage(scriptSrc: string, siteKey = 'divany-test'): string {
  return `<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<title>Оформление заказа — «Уютный дом»</title>
<script async src="${escapeAttr(scriptSrc)}" data-site="${escapeAttr(siteKey)}"></script>
</head>
<body>
<h1>Оформление заказа</h1>
<form id="order" method="post" action="/bye">
  <label>ФИО <input name="fio" value="Иван Петров"></label>
  <label>Телефон <input type="tel" name="phone" value="+7 (916) 123-45-67"></label>
  <label>E-mail <input type="email" name="email" value="ivan@example.ru"></label>
  <label>Пароль <input type="password" name="new-password" value="hunter2hunter2"></label>
  <label>Номер карты <input name="card" autocomplete="cc-number" value="4111 1111 1111 1111"></label>
  <label>CVC <input name="cvc" value="123"></label>
  <input type="hidden" name="utm" value="secret-hidden">
  <label><input type="checkbox" name="email_subscribe" checked> Подписаться</label>
  <textarea name="comment">Угловой диван, 3 метра</textarea>
  <button type="submit" id="order-submit">Заказать</button>
</form>
<form id="nolead" data-rt-nolead onsubmit="return false">
  <input type="tel" name="phone" value="+7 916 000-00-01">
  <input type="email" name="email" value="quiet@example.ru">
  <button type="submit" id="nolead-submit">Отправить</button>
</form>
<form id="signin" onsubmit="return false">
  <input type="email" name="login" value="ivan@example.ru">
  <input type="password" name="password" autocomplete="current-password" value="hunter2hunter2">
  <button type="submit" id="signin-submit">Войти</button>
</form>
<form id="nameonly" onsubmit="return false">
  <input name="name" value="Пётр">
  <button type="submit" id="nameonly-submit">Отправить</button>
</form>
</body>
</html>
`;
}
