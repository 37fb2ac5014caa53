/**
 * Ollama: `/api/chat` and `/api/generate` answer NDJSON (streaming is the default), the last line
 * `done: true` with the counts; errors are `{"error": "..."}`, as a body or as a line mid-stream.
 * A chat's trailing assistant message is continued; /api/generate wraps its prompt in the model's
 * template, so a prompt ending with an answer is not taken for a continuation. `/api/embed` takes
 * `{model, input}` (texts only) and answers `{embeddings, prompt_eval_count}`.
 */
import type { Dialect } from '../dialect.js';
import type { FinishReason, Generation, SimUsage } from '../wire.js';
import { messagesPrompt, nativeRequest, nestedInteger, optionalBoolean, textPrompt } from './native-request.js';
import { openAiToolNames, plannedToolCalls, type SimToolCall } from '../tool-calls.js';
import type { Body, SimFormat } from './sim-format.js';
import { parseEmbedRequest } from '../embeddings.js';

const line = (body: unknown): string => `${JSON.stringify(body)}\n`;
const now = (): string => new Date().toISOString();
const piece = (g: Generation, text: string): Record<string, unknown> =>
  g.operation === 'chat' ? { message: { role: 'assistant', content: text } } : { response: text };

function final(g: Generation, finish: FinishReason, usage: SimUsage, text: string): Record<string, unknown> {
  return {
    model: g.model, created_at: now(), ...piece(g, text), done: true, done_reason: finish,
    total_duration: 1_000_000, load_duration: 1000, prompt_eval_count: usage.prompt_tokens, prompt_eval_duration: 1000,
    eval_count: usage.completion_tokens, eval_duration: 1000,
  };
}

const ollamaDialect: Dialect = {
  streamType: 'application/x-ndjson',
  head: () => '',
  token: (g, text) => line({ model: g.model, created_at: now(), ...piece(g, text), done: false }),
  tail: (g, finish, usage) => line(final(g, finish, usage, '')),
  whole: (g, text, finish, usage) => final(g, finish, usage, text),
  failure: (message) => ({ status: 500, body: { error: message } }),
  badRequest: (message) => ({ status: 400, body: { error: message } }),
  streamError: (message) => line({ error: message }),
  tools: {
    // Ollama parses a model's calls whole: one line with all of them, arguments as objects; then the done line.
    events: (g, calls) => [line({ model: g.model, created_at: now(), message: toolMessage(calls), done: false })],
    tail: (g, usage) => line(final(g, 'stop', usage, '')),
    whole: (g, calls, usage) => ({ ...final(g, 'stop', usage, ''), message: toolMessage(calls) }),
  },
};

function toolMessage(calls: readonly SimToolCall[]): Record<string, unknown> {
  return {
    role: 'assistant', content: '',
    tool_calls: calls.map((call, index) => ({ id: `call_${call.idSuffix}`, function: { index, name: call.name, arguments: JSON.parse(call.arguments) as unknown } })),
  };
}

function parseChat(body: Body) {
  const prompt = messagesPrompt(body, 'trailing-assistant');
  return nativeRequest({
    operation: 'chat', model: typeof body.model === 'string' ? body.model : undefined, prompt,
    maxTokens: nestedInteger(body, 'options', 'num_predict'), stream: optionalBoolean(body, 'stream', true),
    // Ollama has no tool_choice: the model may call any tool it was given.
    toolCalls: plannedToolCalls(prompt.text, openAiToolNames(body.tools), 'auto'),
  });
}
const parseGenerate = (body: Body) => nativeRequest({
  operation: 'completion', model: typeof body.model === 'string' ? body.model : undefined, prompt: textPrompt(body, 'prompt', false),
  maxTokens: nestedInteger(body, 'options', 'num_predict'), stream: optionalBoolean(body, 'stream', true),
});

export const ollama: SimFormat = {
  name: 'ollama',
  routes: [
    { method: 'POST', path: '/api/chat', generate: { dialect: ollamaDialect, parse: parseChat } },
    { method: 'POST', path: '/api/generate', generate: { dialect: ollamaDialect, parse: parseGenerate } },
    {
      method: 'POST', path: '/api/embed',
      embed: {
        dialect: ollamaDialect,
        parse: (body) => parseEmbedRequest(body, 'input', { idsAllowed: false }),
        answer: ({ vectors, tokens }, model) => ({
          status: 200, body: { model, embeddings: vectors, total_duration: 1_000_000, load_duration: 1000, prompt_eval_count: tokens },
        }),
      },
    },
    { method: 'GET', path: '/', respond: () => ({ status: 200, body: 'Ollama is running', contentType: 'text/plain; charset=utf-8' }) },
    { method: 'GET', path: '/api/version', respond: () => ({ status: 200, body: { version: '0.12.6' } }) },
    { method: 'GET', path: '/api/tags', respond: (env) => ({ status: 200, body: { models: env.models.map((name) => ({ name, model: name, size: 0 })) } }) },
  ],
  notFound: { status: 404, body: '404 page not found', contentType: 'text/plain' },
  errors: ollamaDialect,
};
