import { main } from './main.js';
import { processIo } from './commands.js';

/** The process entry point: the one place an exit code reaches the OS. */
const io = processIo();
process.exitCode = await main(process.argv.slice(2), io);
