// A real grpc-js server of mesh.test.EchoService (echo.proto) that Mesh's gRPC client is tested against.
// Usage: node server.mjs
// Echo answers one reply; Chat answers each request with `repeat` replies (1 when zero) and ends when the client
// half-closes. A request with fail_code ends the call with that status and `text` as its message; delay_ms waits
// first. Listens on 127.0.0.1 port 0, prints "listening PORT" on stdout once bound, exits when stdin closes.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const here = dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync(join(here, 'echo.proto'), { keepCase: true, defaults: true });
const echo = grpc.loadPackageDefinition(definition).mesh.test;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const metadataOf = (call) => String(call.metadata.get('x-mesh-test')[0] ?? '');

const server = new grpc.Server();
server.addService(echo.EchoService.service, {
  async Echo(call, callback) {
    const request = call.request;
    if (request.delay_ms > 0) await sleep(request.delay_ms);
    if (request.fail_code !== 0) {
      callback({ code: request.fail_code, details: request.text });
      return;
    }
    callback(null, { text: request.text, index: 0, payload: request.payload, metadata: metadataOf(call) });
  },
  Chat(call) {
    let index = 0;
    let failed = false;
    call.on('data', (request) => {
      if (failed) return;
      if (request.fail_code !== 0) {
        failed = true;
        call.emit('error', { code: request.fail_code, details: request.text });
        return;
      }
      const replies = Math.max(1, request.repeat);
      for (let i = 0; i < replies; i++) {
        call.write({ text: request.text, index: index++, payload: request.payload, metadata: metadataOf(call) });
      }
    });
    call.on('end', () => {
      if (!failed) call.end();
    });
    call.on('error', () => {});
  },
});

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`bind failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});

process.stdin.on('end', () => server.forceShutdown() || process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
