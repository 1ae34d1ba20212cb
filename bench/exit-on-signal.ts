// Preloaded (`node -r`) into the server the bench runs: SIGTERM becomes a
// normal exit, so `--cpu-prof` gets to write its profile.
process.on('SIGTERM', () => process.exit(0));
