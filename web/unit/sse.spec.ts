import { expect, test } from "@playwright/test";
import { SseParser } from "../src/api/live";

test("an event split across chunks is emitted once it is complete", () => {
  const p = new SseParser();
  expect(p.push("event: vi")).toEqual([]);
  expect(p.push('ew\ndata: {"version":')).toEqual([]);
  expect(p.push("3}\n")).toEqual([]);
  expect(p.push("\n")).toEqual([{ event: "view", data: '{"version":3}', id: null }]);
});

test("comments are keep-alives, CRLF and CR end lines, data lines join with newlines", () => {
  const p = new SseParser();
  const events = p.push(
    ": keep-alive\r\n\r\nid: 7\rdata: a\r\ndata:b\n\nevent: view\ndata: {}\n\n",
  );
  expect(events).toEqual([
    { event: "message", data: "a\nb", id: "7" },
    { event: "view", data: "{}", id: "7" },
  ]);
});

test("a CR at the end of a chunk waits for a possible LF", () => {
  const p = new SseParser();
  expect(p.push("event: view\r\ndata: 1\r")).toEqual([]);
  expect(p.push("\n\r\n")).toEqual([{ event: "view", data: "1", id: null }]);
});

test("an event without data is not dispatched", () => {
  const p = new SseParser();
  expect(p.push("event: view\n\n")).toEqual([]);
});
