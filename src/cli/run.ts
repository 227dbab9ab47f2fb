/**
 * The process entry point: the one place an exit code reaches the OS.
 * `reprod --version` (or `-V`) alone is answered before the command line is
 * even built: scripts call it to see that reprod is there, and it should
 * cost little more than Node's own start.
 */
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { reprodVersion } = await import('../app/version.js');
  process.stdout.write(`${reprodVersion()}\n`);
} else {
  const [{ main }, { processIo }] = await Promise.all([import('./main.js'), import('./io.js')]);
  process.exitCode = await main(argv, processIo());
}
