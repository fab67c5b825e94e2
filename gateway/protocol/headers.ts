/** A request header's value; Node gives an array for the few headers it lets repeat, and
 * S3 takes the first. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
