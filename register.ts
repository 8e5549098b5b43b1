// Entry point for `node --import @x/trace-agent` and `node --require @x/trace-agent`.
import { startAgent } from './src/agent.js';

startAgent();

export * from './src/api.js';
