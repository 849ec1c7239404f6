export interface CliArgs {
  validateConfig: boolean;
  configFiles?: string;
  help: boolean;
}

/** `--config FILE[,FILE]` (or `--config=...`, repeatable), `--validate-config`, `--help`. */
export function parseCliArgs(argv: string[]): CliArgs {
  const args: CliArgs = { validateConfig: false, help: false };
  const files: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--validate-config') args.validateConfig = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--config' || arg === '-c') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new Error('--config needs a file (or a comma-separated list)');
      files.push(value);
      i += 1;
    } else if (arg.startsWith('--config=')) files.push(arg.slice('--config='.length));
    else if (arg.startsWith('--spring.config.location=')) files.push(arg.slice('--spring.config.location='.length));
    else throw new Error(`unknown argument: ${arg}`);
  }
  if (files.length > 0) args.configFiles = files.join(',');
  return args;
}

export const USAGE = `Usage: npm start -- [--config FILE[,FILE...]] [--validate-config]

  --config FILE        configuration file(s), later ones override earlier ones
                       (also GLOBALMCP_CONFIG or SPRING_CONFIG_LOCATION; default config/application.yml)
  --validate-config    check the configuration, print problems or a summary, exit 0 or 1
`;
