/** The few pages a user's browser sees while authorising the gateway (no script, no style from elsewhere). */

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${escape(title)}</title></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`
  );
}

/** Names who and what the link is for before anything happens: the user sees a link that is not theirs. */
export function confirmPage(serverName: string, principalId: string, continueUrl: string): string {
  return page(
    `Connect ${serverName}`,
    `<p>The gateway will act as you at <strong>${escape(serverName)}</strong> for the gateway user ` +
      `<strong>${escape(principalId)}</strong>.</p>` +
      `<p>Continue only if that is you: whoever this link was made for can use what you authorise.</p>` +
      `<p><a href="${escape(continueUrl)}">Continue to sign in at ${escape(serverName)}</a></p>`,
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
