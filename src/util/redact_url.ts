/**
 * Hides the password of a URL in messages.
 *
 * @module
 */

/** Replaces the password of a URL with `***`, for messages. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = "***";
    return url.href;
  } catch {
    return text.replace(/\/\/([^:/@\s]+):[^@/\s]*@/, "//$1:***@");
  }
}
