/**
 * Chat templates: how a model sees a conversation. The Hugging Face families use the Jinja
 * `chat_template` shipped in their tokenizer_config.json (rendered with @huggingface/jinja, the
 * engine used by transformers.js), exactly what vLLM and SGLang apply; anything without one gets
 * ChatML. Rendering needs only the small config file, never the vocabulary.
 */
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import type { ChatMessage, ChatPromptRenderer } from '../engine-adapters/adapter.js';
import { isHuggingFaceFamily, tokenizerFiles, VocabularyMissingError } from './tokenizer-names.js';

/** A message's text: a string, or OpenAI content parts of which the text parts count (images and audio do not). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as unknown[]) {
    const t = (part as { type?: unknown; text?: unknown } | null)?.text;
    if (typeof t === 'string') text += t;
  }
  return text;
}

/** Messages as templates expect them: role and string content (and name, when given). */
export function plainMessages(messages: readonly ChatMessage[]): Array<{ role: string; content: string; name?: string }> {
  return messages.map((m) => (typeof m.name !== 'string' ? { role: m.role, content: contentText(m.content) } : { role: m.role, content: contentText(m.content), name: m.name }));
}

/** ChatML, the fallback (and what Qwen's own template renders for plain chats). */
export function renderChatMl(messages: readonly ChatMessage[]): string {
  let out = '';
  for (const m of plainMessages(messages)) out += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  return `${out}<|im_start|>assistant\n`;
}

/** The model's chat template refused the conversation (e.g. roles that do not alternate): the request's fault. */
export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
}

/** A special token in tokenizer_config.json: a string or an AddedToken object. */
function tokenText(value: unknown): string {
  if (typeof value === 'string') return value;
  const content = (value as { content?: unknown } | null)?.content;
  return typeof content === 'string' ? content : '';
}

interface TemplateConfig {
  chat_template?: unknown;
  bos_token?: unknown;
  eos_token?: unknown;
}

/**
 * The tokenizer's template as a renderer, or ChatML when it has none, or when it is a family whose
 * vocabulary is not installed (counted with o200k meanwhile: encoders.ts).
 */
export function loadChatTemplate(tokenizer: string): ChatPromptRenderer {
  let configPath: string | undefined;
  try {
    configPath = tokenizerFiles(tokenizer)?.config;
  } catch (error) {
    if (error instanceof VocabularyMissingError && isHuggingFaceFamily(tokenizer)) return renderChatMl;
    throw error;
  }
  if (!configPath) return renderChatMl;
  let config: TemplateConfig;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as TemplateConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return renderChatMl; // a tokenizer.json path without a config next to it
    throw error;
  }
  // Some configs hold several named templates; the "default" one is the chat template.
  const source = Array.isArray(config.chat_template)
    ? (config.chat_template as Array<{ name?: string; template?: string }>).find((t) => t.name === 'default')?.template
    : config.chat_template;
  if (typeof source !== 'string') return renderChatMl;
  const template = new Template(source);
  const bos = tokenText(config.bos_token);
  const eos = tokenText(config.eos_token);
  return (messages) => {
    try {
      return template.render({ messages: plainMessages(messages), add_generation_prompt: true, bos_token: bos, eos_token: eos });
    } catch (error) {
      throw new ChatTemplateError(`the ${tokenizer} chat template rejected the messages: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

const renderers = new Map<string, ChatPromptRenderer>();

/**
 * The chat prompt renderer for `tokenizer` (cached): for engine endpoints that take text, not
 * messages (TGI, Triton, SGLang /generate). Throws for an unknown tokenizer name.
 */
export function createChatPromptRenderer(tokenizer: string): ChatPromptRenderer {
  let renderer = renderers.get(tokenizer);
  if (!renderer) {
    renderer = loadChatTemplate(tokenizer);
    renderers.set(tokenizer, renderer);
  }
  return renderer;
}
