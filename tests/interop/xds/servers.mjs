// Starts one plain gRPC server per name given on the command line, each on a free port, and prints one JSON line
// {"<name>": <port>, ...} once all listen. Each answers mesh.interop.Whoami/Who with its own name. Runs until killed.
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const proto = grpc.loadPackageDefinition(protoLoader.loadSync(join(here, "whoami.proto")));
const names = process.argv.slice(2);
if (names.length === 0) {
  console.error("usage: node servers.mjs <name> [<name> ...]");
  process.exit(2);
}

const ports = {};
await Promise.all(names.map((name) => new Promise((resolve, reject) => {
  const server = new grpc.Server();
  server.addService(proto.mesh.interop.Whoami.service, {
    Who: (_call, callback) => callback(null, { instance: name }),
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) return reject(err);
    ports[name] = port;
    resolve();
  });
})));
console.log(JSON.stringify(ports));
