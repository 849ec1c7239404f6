import { useState } from 'preact/hooks';
import type { JsonSchema } from './types';

/** The JSON Schema type of a property, the first non-null one when it is a list. */
function typeOf(schema: JsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  return type ?? 'string';
}

type Raw = Record<string, string | boolean>;

function initial(properties: Record<string, JsonSchema>): Raw {
  const raw: Raw = {};
  for (const [name, schema] of Object.entries(properties)) {
    const type = typeOf(schema);
    if (type === 'boolean') raw[name] = schema.default === true;
    else if (schema.default === undefined) raw[name] = '';
    else raw[name] = typeof schema.default === 'string' ? schema.default : JSON.stringify(schema.default);
  }
  return raw;
}

/** Turns the fields' text into the tool's arguments; a blank optional field is left out. */
export function toArguments(schema: JsonSchema, raw: Raw): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const value = raw[name];
    const type = typeOf(property);
    if (typeof value === 'boolean') {
      args[name] = value;
      continue;
    }
    if (value === undefined || value === '') continue;
    if (type === 'number' || type === 'integer') args[name] = Number(value);
    else if (type === 'object' || type === 'array') args[name] = JSON.parse(value) as unknown;
    else args[name] = value;
  }
  return args;
}

interface Props {
  schema: JsonSchema;
  idPrefix: string;
  busy: boolean;
  /** Each action is a submit button; the form passes the arguments and the action's name. */
  actions: { name: string; label: string }[];
  onSubmit: (args: Record<string, unknown>, action: string) => void;
}

/** A form generated from a tool's input schema: one labelled field per property, typed by its schema. */
export function SchemaForm({ schema, idPrefix, busy, actions, onSubmit }: Props) {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const [raw, setRaw] = useState<Raw>(() => initial(properties));
  const [problem, setProblem] = useState<string>();
  const set = (name: string, value: string | boolean) => setRaw((current) => ({ ...current, [name]: value }));

  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    const action = (event.submitter as HTMLButtonElement | null)?.value ?? actions[0]?.name ?? '';
    try {
      setProblem(undefined);
      onSubmit(toArguments(schema, raw), action);
    } catch (error) {
      setProblem(`Not valid JSON: ${(error as Error).message}`);
    }
  };

  return (
    <form class="schema-form" onSubmit={submit}>
      {Object.entries(properties).map(([name, property]) => {
        const id = `${idPrefix}-${name}`;
        const type = typeOf(property);
        const hint = property.description ? `${id}-hint` : undefined;
        const common = { id, name, required: required.has(name), 'aria-describedby': hint };
        const value = raw[name];
        let field;
        if (type === 'boolean') {
          field = (
            <input
              type="checkbox"
              {...common}
              required={false}
              checked={value === true}
              onChange={(e) => set(name, e.currentTarget.checked)}
            />
          );
        } else if (property.enum) {
          field = (
            <select {...common} value={String(value)} onChange={(e) => set(name, e.currentTarget.value)}>
              {!required.has(name) && <option value="">(none)</option>}
              {property.enum.map((option) => (
                <option key={String(option)} value={String(option)}>
                  {String(option)}
                </option>
              ))}
            </select>
          );
        } else if (type === 'object' || type === 'array') {
          field = (
            <textarea
              {...common}
              rows={3}
              placeholder={type === 'array' ? '[ ]' : '{ }'}
              value={String(value)}
              onInput={(e) => set(name, e.currentTarget.value)}
            />
          );
        } else {
          const numeric = type === 'number' || type === 'integer';
          field = (
            <input
              {...common}
              type={numeric ? 'number' : 'text'}
              step={type === 'integer' ? 1 : numeric ? 'any' : undefined}
              value={String(value)}
              onInput={(e) => set(name, e.currentTarget.value)}
            />
          );
        }
        return (
          <div class="field" key={name}>
            <label for={id}>
              {property.title ?? name}
              {required.has(name) && <span aria-hidden="true"> *</span>}
              <span class="type"> ({type})</span>
            </label>
            {field}
            {hint && (
              <small id={hint} class="hint">
                {property.description}
              </small>
            )}
          </div>
        );
      })}
      {Object.keys(properties).length === 0 && <p class="hint">This tool takes no arguments.</p>}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <div class="actions">
        {actions.map((action) => (
          <button type="submit" name="action" value={action.name} disabled={busy} key={action.name}>
            {action.label}
          </button>
        ))}
      </div>
    </form>
  );
}
