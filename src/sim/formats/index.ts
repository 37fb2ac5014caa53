/** Every simulator format, by name; the names are the engine adapter kinds. Adding one: a file and a line. */
import { anthropic } from './anthropic.js';
import { ollama } from './ollama.js';
import { azureOpenAi, llamacpp, openai, trtllm, vllm } from './openai-servers.js';
import { sglang, sglangGenerate } from './sglang-generate.js';
import type { SimFormat } from './sim-format.js';
import { tei } from './tei.js';
import { tgi } from './tgi.js';
import { triton } from './triton.js';

export const simFormats: Record<string, SimFormat> = Object.fromEntries(
  [vllm, sglang, sglangGenerate, trtllm, llamacpp, tgi, triton, ollama, openai, azureOpenAi, anthropic, tei].map((f) => [f.name, f]),
);

export function simFormat(name: string): SimFormat {
  const format = simFormats[name];
  if (!format) throw new Error(`unknown simulator format '${name}': known formats are ${Object.keys(simFormats).join(', ')}`);
  return format;
}
