// An integer command-line option within bounds; a bad value ends the process with a one-line message (exit 2),
// as a CLI should, before anything is loaded.
export function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}, got ${value}`);
    process.exit(2);
  }
  return n;
}
