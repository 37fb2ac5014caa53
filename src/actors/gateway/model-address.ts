/** Model addressing: the client's `model` is `<function-id>/<model-name>`; the model name may contain `/`. */
export interface ModelAddress {
  functionId: string;
  model: string;
}

export function parseModelAddress(value: string): ModelAddress | undefined {
  const slash = value.indexOf('/');
  if (slash <= 0 || slash === value.length - 1) return undefined;
  return { functionId: value.slice(0, slash), model: value.slice(slash + 1) };
}
