import fastify from 'fastify';

// The bare-Fastify ceiling: a hello-world server in its own process, hit by
// the same load generator as attestd (main.ts).
const app = fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.post('/', async () => ({ hello: 'world' }));
app.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_PORT) }).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
