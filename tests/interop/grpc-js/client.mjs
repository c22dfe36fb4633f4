// A real grpc-js client of mesh.test.EchoService (echo.proto) that Mesh's gRPC server is tested against.
// Usage: node client.mjs HOST:PORT SCENARIO [--tls CA_PEM]
// Runs one scenario and prints one JSON line with what it observed (the C# test asserts on it), then exits 0;
// exits 1 with a message on stderr when the scenario could not run at all.
//   unary      Echo "hello" with metadata x-mesh-test=abc and a 3-byte payload
//   bidi       Chat: 200 requests, each asking for 2 replies, then half-close; reports the replies and the status
//   error      Echo with fail_code 9 (FAILED_PRECONDITION) and a message with non-ASCII text
//   deadline   Echo with delay_ms 30000 and a 1500 ms deadline (long enough for the call to reach a busy server)
//   unknown    a call to /mesh.test.EchoService/Nope, which the server does not implement
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const here = dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync(join(here, 'echo.proto'), { keepCase: true, defaults: true });
const echo = grpc.loadPackageDefinition(definition).mesh.test;

const [target, scenario, ...rest] = process.argv.slice(2);
let credentials = grpc.credentials.createInsecure();
if (rest[0] === '--tls') credentials = grpc.credentials.createSsl(readFileSync(rest[1]));
const client = new echo.EchoService(target, credentials, { 'grpc.ssl_target_name_override': 'localhost' });

const print = (result) => {
  process.stdout.write(JSON.stringify(result) + '\n');
  client.close();
};
const statusOf = (err) => ({ code: err.code, details: err.details });
const deadlineIn = (ms) => new Date(Date.now() + ms);

function unary(request, options, metadata = new grpc.Metadata()) {
  return new Promise((resolve) => {
    client.Echo(request, metadata, options, (err, reply) => resolve(err ? { status: statusOf(err) } : { reply }));
  });
}

const scenarios = {
  async unary() {
    const metadata = new grpc.Metadata();
    metadata.set('x-mesh-test', 'abc');
    const result = await unary({ text: 'hello', payload: Buffer.from([1, 2, 3]) }, { deadline: deadlineIn(10000) }, metadata);
    if (result.reply) result.reply.payload = [...result.reply.payload];
    print(result);
  },
  async bidi() {
    const call = client.Chat({ deadline: deadlineIn(20000) });
    const texts = [];
    const indexes = [];
    call.on('data', (reply) => {
      texts.push(reply.text);
      indexes.push(reply.index);
    });
    const status = new Promise((resolve) => call.on('status', resolve));
    call.on('error', () => {});
    for (let i = 0; i < 200; i++) call.write({ text: `m${i}`, repeat: 2 });
    call.end();
    const final = await status;
    print({ count: texts.length, first: texts[0], last: texts.at(-1), ordered: indexes.every((v, i) => v === i), status: { code: final.code, details: final.details } });
  },
  async error() {
    print(await unary({ text: 'precondition failed: ünïcode % 100', fail_code: 9 }, { deadline: deadlineIn(10000) }));
  },
  async deadline() {
    const started = Date.now();
    const result = await unary({ text: 'slow', delay_ms: 30000 }, { deadline: deadlineIn(1500) });
    print({ ...result, elapsedMs: Date.now() - started });
  },
  async unknown() {
    const result = await new Promise((resolve) => {
      client.makeUnaryRequest('/mesh.test.EchoService/Nope', (x) => x, (x) => x, Buffer.alloc(0), new grpc.Metadata(),
        { deadline: deadlineIn(10000) }, (err, reply) => resolve(err ? { status: statusOf(err) } : { reply: [...reply] }));
    });
    print(result);
  },
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario "${scenario}"; use one of ${Object.keys(scenarios).join(', ')}`);
  process.exit(1);
}
run().catch((err) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
