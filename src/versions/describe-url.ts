/** A URL fit for logs and error messages: no user-info, no query string (either may carry a credential). */
export function describeUrl(url: URL | string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}
