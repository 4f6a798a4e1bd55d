// The ollama client against inferno serve. Environment as openai.mjs.
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';

const model = process.env.INFERNO_MODEL;
const expect = JSON.parse(process.env.INFERNO_EXPECT);
const ollama = new Ollama({ host: process.env.INFERNO_URL });
const messages = [{ role: 'user', content: expect.chat_prompt }];
const options = { temperature: 0, num_predict: expect.max_tokens };

const tags = await ollama.list();
assert.deepEqual(tags.models.map((m) => m.name), [model]);
assert.equal(tags.models[0].details.format, 'gguf');

const reply = await ollama.chat({ model, messages, options, stream: false });
assert.equal(reply.message.role, 'assistant');
assert.equal(reply.message.content, expect.chat);
assert.equal(reply.done, true);
assert.equal(reply.done_reason, expect.chat_finish);
assert.equal(reply.eval_count, expect.chat_tokens);
for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_duration']) {
  assert.equal(typeof reply[k], 'number', k);
}

let text = '';
let last = null;
for await (const part of await ollama.chat({ model, messages, options, stream: true })) {
  text += part.message.content;
  last = part;
}
assert.equal(text, expect.chat);
assert.equal(last.done, true);
assert.equal(last.eval_count, expect.chat_tokens);

const gen = await ollama.generate({ model, prompt: expect.completion_prompt, raw: true, options, stream: false });
assert.equal(gen.response, expect.completion);
assert.equal(gen.eval_count, expect.completion_tokens);

const show = await ollama.show({ model });
assert.equal(show.details.family, 'llama');
const ps = await ollama.ps();
assert.equal(ps.models[0].name, model);
const version = await ollama.version();
assert.equal(typeof version.version, 'string');

await assert.rejects(ollama.chat({ model: 'no-such-model', messages, stream: false }), (e) => {
  assert.equal(e.status_code, 404);
  assert.match(e.error, /model "no-such-model" not found/);
  return true;
});
await assert.rejects(ollama.chat({ model, messages, options: { num_ctx: 4096 }, stream: false }), (e) => {
  assert.equal(e.status_code, 400);
  assert.match(e.error, /num_ctx/);
  return true;
});
console.log('ollama client: ok');
