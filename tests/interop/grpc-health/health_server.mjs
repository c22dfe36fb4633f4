// A real grpc-js health server for the agent's gRPC check tests.
// Usage: node health_server.mjs [--tls CERT KEY] [service=STATUS ...]   (STATUS: SERVING | NOT_SERVING | UNKNOWN)
// The empty service name ("") is the whole server. Unknown services get NOT_FOUND, as grpc-go's health server does.
// Listens on 127.0.0.1 port 0 and prints "listening PORT" on stdout once bound; exits when stdin closes so a
// crashed test run never leaves it behind.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const here = dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync(join(here, 'health.proto'), { enums: String, defaults: true });
const health = grpc.loadPackageDefinition(definition).grpc.health.v1;

const args = process.argv.slice(2);
let credentials = grpc.ServerCredentials.createInsecure();
const statuses = new Map();
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--tls') {
    const cert = readFileSync(args[++i]);
    const key = readFileSync(args[++i]);
    credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
    continue;
  }
  const eq = args[i].indexOf('=');
  statuses.set(args[i].slice(0, eq), args[i].slice(eq + 1));
}

const server = new grpc.Server();
server.addService(health.Health.service, {
  Check(call, callback) {
    const status = statuses.get(call.request.service);
    if (status === undefined) {
      callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      return;
    }
    callback(null, { status });
  },
});

server.bindAsync('127.0.0.1:0', credentials, (err, port) => {
  if (err) {
    console.error(`bind failed: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});

process.stdin.on('end', () => server.forceShutdown() || process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
