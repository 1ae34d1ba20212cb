// setupFiles of the `unit` project (jest.config.js): marks the file's
// environment so that test/support refuses databases, servers and processes.
process.env.TEST_TIER_ATTESTD = 'unit';
