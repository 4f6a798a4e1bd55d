// The official openai client against inferno serve. Environment: INFERNO_URL (the
// server's root), INFERNO_MODEL, INFERNO_EXPECT (JSON: the texts and token counts
// `inferno run` gives for the same greedy requests).
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const model = process.env.INFERNO_MODEL;
const expect = JSON.parse(process.env.INFERNO_EXPECT);
const client = new OpenAI({ baseURL: process.env.INFERNO_URL + '/v1', apiKey: 'unused', maxRetries: 0 });
const messages = [{ role: 'user', content: expect.chat_prompt }];

const models = await client.models.list();
assert.deepEqual(models.data.map((m) => m.id), [model]);

const reply = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: expect.max_tokens });
assert.equal(reply.object, 'chat.completion');
assert.equal(reply.choices[0].message.role, 'assistant');
assert.equal(reply.choices[0].message.content, expect.chat);
assert.equal(reply.choices[0].finish_reason, expect.chat_finish);
assert.equal(reply.usage.completion_tokens, expect.chat_tokens);
assert.equal(reply.usage.total_tokens, reply.usage.prompt_tokens + reply.usage.completion_tokens);

const stream = await client.chat.completions.create({
  model, messages, temperature: 0, max_tokens: expect.max_tokens, stream: true, stream_options: { include_usage: true },
});
let text = '';
let finish = null;
let usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    text += choice.delta.content ?? '';
    if (choice.finish_reason) finish = choice.finish_reason;
  }
}
assert.equal(text, expect.chat);
assert.equal(finish, expect.chat_finish);
assert.ok(usage, 'no usage chunk with include_usage');
assert.equal(usage.completion_tokens, expect.chat_tokens);

const completion = await client.completions.create({ model, prompt: expect.completion_prompt, temperature: 0, max_tokens: expect.max_tokens });
assert.equal(completion.choices[0].text, expect.completion);
assert.equal(completion.usage.completion_tokens, expect.completion_tokens);

await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages }), (e) => {
  assert.ok(e instanceof OpenAI.NotFoundError, `want NotFoundError, got ${e}`);
  assert.match(e.message, /model "no-such-model" not found/);
  return true;
});
await assert.rejects(client.chat.completions.create({ model, messages, n: 2 }), (e) => {
  assert.ok(e instanceof OpenAI.BadRequestError, `want BadRequestError, got ${e}`);
  assert.match(e.message, /only n = 1/);
  return true;
});
await assert.rejects(client.chat.completions.create({ model, messages, temperature: -1 }), (e) => {
  assert.ok(e instanceof OpenAI.BadRequestError, `want BadRequestError, got ${e}`);
  assert.match(e.message, /temperature -1/);
  return true;
});
console.log('openai client: ok');
