/** An unsigned-looking JWT with the given payload; the service never verifies signatures, assisted-service does. */
export function fakeJwt(payload: Record<string, unknown>): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(payload)}.${Buffer.from('signature-bytes').toString('base64url')}`;
}
