// Google OAuth 2.0 refresh-token grant, shared by every Google API client (Ads conversions, Ads costs):
// https://developers.google.com/identity/protocols/oauth2/web-server#offline, RFC 6749 §6.

export interface GoogleOAuthClient {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** Google's answer to the grant; `accessToken` is set only on a 2xx carrying one. */
export interface TokenAnswer {
  status: number;
  accessToken: string | null;
  /** The parsed JSON body, or null when it is not JSON. */
  json: unknown;
  text: string;
  retryAfter: string | null;
}

/**
 * Exchanges the stored refresh token for an access token. Throws what fetch throws when no answer comes;
 * each caller turns that and a refusal into its own error. Redirects are not followed: the body carries
 * the client secret.
 */
export async function refreshAccessToken(
  oauthUrl: string,
  client: GoogleOAuthClient,
  timeoutMs: number,
): Promise<TokenAnswer> {
  const res = await fetch(oauthUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: client.clientId,
      client_secret: client.clientSecret,
      refresh_token: client.refreshToken,
    }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  const token = (json as { access_token?: unknown } | null)?.access_token;
  return {
    status: res.status,
    accessToken: res.ok && typeof token === 'string' ? token : null,
    json,
    text,
    retryAfter: res.headers.get('retry-after'),
  };
}
