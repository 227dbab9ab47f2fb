/**
 * The process entry point: the one place an exit code reaches the OS.
 * `reprod --version` (or `-V`) alone is answered before the command line is
 * even built: scripts call it to see that reprod is there, and it should
 * cost little more than Node's own start. No top-level await: the bundle
 * bin/reprod.js runs is CommonJS (scripts/bundle-cli.ts).
 */
async function run(argv: readonly string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    const { reprodVersion } = await import('../app/version.js');
    process.stdout.write(`${reprodVersion()}\n`);
    return;
  }
  const [{ main }, { processIo }] = await Promise.all([import('./main.js'), import('./io.js')]);
  process.exitCode = await main([...argv], processIo());
}

void run(process.argv.slice(2));
