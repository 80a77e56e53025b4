/* gannet playground: the page's one way to its server's JSON API (an ES module). No network
 * beyond this page's own server.
 */

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  let payload = null;
  try {
    payload = await response.json();
  } catch (e) {
    throw new HttpError(response.status, `bad response from the server (${response.status})`);
  }
  if (!response.ok) throw new HttpError(response.status, payload.error || response.statusText);
  return payload;
}
