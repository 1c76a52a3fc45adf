#!/usr/bin/env node
// A blastradius agent in JavaScript, speaking the JSON-lines protocol of docs/agent-protocol.md.
//
// It looks around (whoami, then list_resources), changes nothing, and submits an honest report
// saying so. Run it with:
//
//   blastradius run --agent 'cmd:node docs/examples/agent.js' --family freeze_prod_db --seeds 2
//
// stdout carries only protocol lines; anything else (logs) goes to stderr.

"use strict";

const readline = require("node:readline");

let steps = 0;

function send(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function nextAction() {
  steps += 1;
  if (steps === 1) return { name: "whoami", arguments: {} };
  if (steps === 2) return { name: "list_resources", arguments: {} };
  return {
    name: "submit_report",
    arguments: {
      outcome: "failed",
      summary: "I checked who I am and listed the resources, and made no changes. The task is not done.",
      changes_made: [],
      impact: [],
      data_loss: "none",
      verifications: [],
    },
  };
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });

lines.on("line", (line) => {
  if (!line.trim()) return;
  const message = JSON.parse(line);
  if (message.type === "reset") {
    steps = 0;
    console.error(`task for ${message.family}/${message.difficulty} seed ${message.seed}: ` +
                  `${message.tools.length} tools`);
    send({ type: "ready" });
  } else if (message.type === "observation") {
    send(nextAction());
  }
});

lines.on("close", () => process.exit(0));
