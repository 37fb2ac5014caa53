/** Tokenization: token counting on a worker-thread pool, tokenizer names, chat templates. */
export { ChatTemplateError, createChatPromptRenderer } from './chat-template.js';
export { createTokenCounter, type TokenCounter, type TokenCounterOptions, type TokenCounterStats } from './token-counter.js';
export { guessTokenizer, isValidTokenizer, tokenizerNames, UnknownTokenizerError } from './tokenizer-names.js';
