/** The minimal ISO template could not be built; `cause` holds the underlying failure when there is one. */
export class TemplateBuildError extends Error {
  override readonly name = 'TemplateBuildError';
}
