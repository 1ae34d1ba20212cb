// Validates Kubernetes objects against the API's schemas with kubernetes-models
// (the Kubernetes OpenAPI definitions compiled to validators) and, for the
// Prometheus operator's kinds, @kubernetes-models/prometheus-operator.
// Reads a JSON array of objects on stdin; writes a JSON array of
// { apiVersion, kind, name, errors } to stdout. An object of a kind no
// package has a schema for is an error, never a pass.
//
// A child process of its own: both packages are ES modules only, which
// Jest's CommonJS runtime cannot load.

/** Where each API group's models are. */
const PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator/monitoring.coreos.com',
};

async function modelOf(apiVersion, kind) {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  if (!/^[A-Za-z0-9.-]*$/.test(group) || !/^v[0-9a-z]+$/.test(version) || !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    return undefined;
  const base = PACKAGES[group] ?? (group === '' ? 'kubernetes-models' : `kubernetes-models/${group}`);
  try {
    const module = await import(`${base}/${version}/${kind}`);
    return module[kind];
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return undefined;
    throw error;
  }
}

async function validate(object) {
  const { apiVersion = '', kind = '', metadata = {} } = object ?? {};
  const result = { apiVersion, kind, name: metadata.name ?? '', errors: [] };
  const Model = await modelOf(String(apiVersion), String(kind));
  if (!Model) {
    result.errors.push(`no schema for ${apiVersion} ${kind}`);
    return result;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    result.errors.push(String(error.message));
  }
  return result;
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const object of JSON.parse(input)) results.push(await validate(object));
process.stdout.write(JSON.stringify(results));
