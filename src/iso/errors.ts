/** The ISO library's failures: `name` is the class's own, so a log line says which one it was. */
export class IsoError extends Error {
  override readonly name: string = this.constructor.name;
}
