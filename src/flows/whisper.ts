/** What the answering employee hears before being connected: where the call came from. Pure. */
export interface WhisperSource {
  channel: string | null;
  source: string | null;
  campaign: string | null;
  keyword: string | null;
}

export function whisperText(call: WhisperSource | null, language: string): string {
  const ru = language.toLowerCase().startsWith('ru');
  if (!call || (!call.source && !call.campaign && !call.keyword)) {
    return ru ? 'Звонок с сайта, источник не определён.' : 'A call from the website, source unknown.';
  }
  const parts = [
    call.source && (ru ? `источник ${call.source}` : `source ${call.source}`),
    call.campaign && (ru ? `кампания ${call.campaign}` : `campaign ${call.campaign}`),
    call.keyword && (ru ? `ключевое слово ${call.keyword}` : `keyword ${call.keyword}`),
  ].filter(Boolean);
  const head =
    call.channel === 'static'
      ? ru
        ? 'Звонок по рекламе'
        : 'A call from an ad'
      : ru
        ? 'Звонок с сайта'
        : 'A call from the website';
  return `${head}: ${parts.join(', ')}.`;
}
