/** The few pages a user's browser sees while authorising the gateway (no script, no style from elsewhere). */

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${escape(title)}</title></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`
  );
}

/** The fields of the confirmation form (POST to the start page). */
export interface ConfirmForm {
  readonly action: string;
  readonly link: string;
  readonly confirm: string;
}

/**
 * Names who and what the link is for before anything happens, and asks the person to prove they are that gateway user
 * with the credential the gateway already takes from them (ADR 0011): their API key or a bearer token, posted in the
 * form's body (never a URL). A user who opened someone else's link cannot continue.
 */
export function confirmPage(serverName: string, principal: string, form: ConfirmForm): string {
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escape(value)}">`;
  return page(
    `Connect ${serverName}`,
    `<p>The gateway will act as you at <strong>${escape(serverName)}</strong> for the gateway user ` +
      `<strong>${escape(principal)}</strong>.</p>` +
      `<p>To continue, prove that you are that gateway user: enter the API key or bearer token you call the gateway ` +
      `with. It is checked here and not kept.</p>` +
      `<form method="post" action="${escape(form.action)}">${hidden('link', form.link)}${hidden('confirm', form.confirm)}` +
      `<p><label for="credential">Your gateway API key or bearer token</label> ` +
      `<input id="credential" name="credential" type="password" autocomplete="off" required></p>` +
      `<p><button type="submit">Continue to sign in at ${escape(serverName)}</button></p></form>`,
  );
}

export function connectedPage(serverName: string): string {
  return page(
    `Connected to ${serverName}`,
    `<p role="status">The gateway can now call ${escape(serverName)} as you. You can close this tab.</p>`,
  );
}

export function errorPage(message: string): string {
  return page('Not connected', `<p role="alert">${escape(message)}</p><p>Nothing was stored.</p>`);
}
