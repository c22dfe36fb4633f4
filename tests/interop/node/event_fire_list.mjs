// npm consul user events: event.fire (payload, filters) and event.list.
import { randomUUID } from "node:crypto";

import { check, client, eq, run, step } from "./lib/mesh.mjs";

await run(async () => {
  const consul = client();
  const name = `node-ev-${randomUUID().slice(0, 8)}`;

  step("event.fire returns the event with its payload (decoded by the client)");
  const first = await consul.event.fire(name, "payload-1");
  check(/^[0-9a-f-]{36}$/.test(first?.ID ?? ""), `event.fire ID: ${JSON.stringify(first)}`);
  eq([first.Name, first.Payload], [name, "payload-1"], "Name and Payload");
  eq([first.NodeFilter, first.ServiceFilter, first.TagFilter], ["", "", ""], "filters of an unfiltered event");
  check(Number.isInteger(first.Version) && Number.isInteger(first.LTime), "Version and LTime must be integers");

  step("event.fire with a node filter matching this agent, without payload, and with a Buffer payload");
  const second = await consul.event.fire({ name, node: ".*" });
  eq(second.NodeFilter, ".*", "NodeFilter");
  check(second.Payload === null || second.Payload === undefined || second.Payload === "", `Payload: ${second.Payload}`);
  const blob = Buffer.from([0, 1, 2, 250]);
  const third = await consul.event.fire({ name: `${name}-bin`, payload: blob });
  check(Buffer.isBuffer(third.Payload) && third.Payload.equals(blob), "binary payload echoed by event.fire");

  step("events whose filters this agent does not match are echoed but not kept here");
  const skipped = await consul.event.fire({ name, service: "no-such-service-here", tag: "v1" });
  eq([skipped.ServiceFilter, skipped.TagFilter], ["no-such-service-here", "v1"], "ServiceFilter and TagFilter");
  const elsewhere = await consul.event.fire({ name, node: "^no-such-node$" });
  eq(elsewhere.NodeFilter, "^no-such-node$", "NodeFilter");

  step("event.list by name, oldest first");
  const listed = await consul.event.list(name);
  eq(listed.map((e) => e.ID), [first.ID, second.ID], "IDs listed for the name");
  eq(listed[0].Payload, "payload-1", "listed Payload");

  step("event.list without a name includes every event; LTime grows");
  const all = await consul.event.list();
  const byId = new Map(all.map((e) => [e.ID, e]));
  for (const ev of [first, second, third]) check(byId.has(ev.ID), `event ${ev.ID} missing from event.list`);
  check(byId.get(first.ID).LTime < byId.get(third.ID).LTime, "LTime must grow with each event");
  eq(await consul.event.list(`no-such-${randomUUID().slice(0, 6)}`), [], "events for an unknown name");
});
