/** The process's root pino logger (see `createRootLogger`); inject it to close it after `app.close()`. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
