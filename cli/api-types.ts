// Generated from openapi.yaml by cli/generate-api-types.ts (`npm run openapi`); do not edit.

export interface paths {
    "/admin/v1/tenants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create a tenant and its first API key (operator only) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateTenantRequest"];
                };
            };
            responses: {
                /** @description The tenant and its first key (shown once). */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CreatedTenant"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your tenant's API keys (without the keys) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Keys, newest first. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ApiKeyList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create another API key for your tenant */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateApiKeyRequest"];
                };
            };
            responses: {
                /** @description The new key (shown once). */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["NewApiKey"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/api-keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke an API key; requests with it answer 401 from then on */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The revoked key. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ApiKey"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/backend-credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List backend credentials (without the tokens), newest first (operator only) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Credentials, newest first. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BackendCredentialList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Issue a backend its credential (BACKEND_TOKEN), bound to its backend_id (operator only) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateBackendCredentialRequest"];
                };
            };
            responses: {
                /** @description The credential and its token (shown once). */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["NewBackendCredential"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/backend-credentials/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke a backend credential: its calls answer 401 from then on, and a backend left with none gets no more inference traffic (operator only) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The revoked credential. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BackendCredential"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/base-models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your base models, newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of base models. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BaseModelList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Register a base model whose Hugging Face files are in the bucket; its config.json and tokenizer_config.json (with the chat template) are read and checked */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateBaseModelRequest"];
                };
            };
            responses: {
                /** @description The registered base model. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BaseModel"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/base-models/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one base model (by id or name) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The base model. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["BaseModel"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a base model that no adapter, job or merge uses (its files stay in the bucket) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Deleted"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your adapters, newest first: each name once, at the version it serves (GET …/versions lists the others) */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of adapters. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdapterList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Start an adapter upload: returns where to PUT adapter_config.json and adapter_model.safetensors */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateAdapterRequest"];
                };
            };
            responses: {
                /** @description The adapter (uploading) and its upload targets. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CreatedAdapter"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/files/{filename}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Upload one adapter file through the edge (files up to 67108864 bytes); the body is the file */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                    filename: "adapter_config.json" | "adapter_model.safetensors";
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/octet-stream": string;
                };
            };
            responses: {
                /** @description Stored; commit when both files are up. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["UploadedFile"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Content-Length is required. */
                411: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error?: unknown;
                        };
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/commit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Finish an upload: the files are checked against the base model and the adapter becomes ready or rejected */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The adapter, ready. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Adapter"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The files failed the check; the adapter is now `rejected` and the message says why. */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdapterRejected"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one adapter version (by id, by name: the version it serves, or by `name@v<n>`) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The adapter. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Adapter"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete one adapter version and its files (refused while a merge or compression uses it); deleting the version a name serves repoints the name to its newest ready version left */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Deleted"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/pin": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Pin a ready adapter: kept loaded on the backend its requests route to, exempt from eviction, and on the next backend when routing moves (backends take pins at their next heartbeat) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The adapter, pinned (pinning a pinned adapter changes nothing). */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Adapter"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The adapter is not ready (`adapter_not_ready`), or the tenant has MAX_PINNED_ADAPTERS pinned already (`pin_limit_reached`). */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        /** Unpin an adapter: its backend may evict it again (from its next heartbeat) */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The adapter, not pinned (unpinning one not pinned changes nothing). */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Adapter"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/download": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Presigned GET URLs of a ready adapter's PEFT files */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Download URLs, valid for an hour. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdapterDownload"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the versions of an adapter name (by name, or by the id of any version), newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of versions; `current` marks the one the name serves. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["AdapterList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/adapters/{id}/versions/{version}/promote": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Make one version the one its name serves (a rollback, or a roll forward); requests in flight finish on theirs */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The adapter name, or the id of any of its versions. */
                    id: string;
                    version: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The version, now current. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Adapter"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/files": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your files, newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of files. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FileList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Upload a JSONL dataset; every line is checked before the file is accepted */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "multipart/form-data": components["schemas"]["UploadFileForm"];
                };
            };
            responses: {
                /** @description The stored file. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["File"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/files/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one file */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The file. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["File"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Delete a file no fine-tuning job uses */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Deleted. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Deleted"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/fine_tuning/jobs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your fine-tuning jobs, newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of jobs. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FineTuningJobList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create a fine-tuning job that trains a LoRA adapter on one of your base models */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Retrying with the same key and body returns the same job instead of a new one. */
                    "idempotency-key"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateFineTuningJobRequest"];
                };
            };
            responses: {
                /** @description The job created earlier with this Idempotency-Key. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FineTuningJob"];
                    };
                };
                /** @description The queued job. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FineTuningJob"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/fine_tuning/jobs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one fine-tuning job */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The job. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FineTuningJob"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/fine_tuning/jobs/{id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A job's events (progress, loss, throughput), newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of events. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FineTuningEventList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/fine_tuning/jobs/{id}/checkpoints": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A job's checkpoints, newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of checkpoints. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FineTuningCheckpointList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/fine_tuning/jobs/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel a queued or running job; a running backend is told to stop */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The cancelled job. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["FineTuningJob"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/merges": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your merges, newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of merges. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MergeList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Merge ready adapters of one base model (rmm_shared, rmm_factor, rmm_delta, task_arithmetic, ties, dare, cat, svd, linear, della, breadcrumbs) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateMergeRequest"];
                };
            };
            responses: {
                /** @description The queued merge; a backend builds it. */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Merge"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/merges/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one merge (by id or name), with its reverts */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The merge. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Merge"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/merges/{id}/download": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Presigned GET URLs of a succeeded merge's files: a collapsed merge's PEFT adapter, or an rmm_* merge's basis */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Download URLs, valid for an hour. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MergeDownload"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/merges/{id}/revert": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Rebuild one member task of a merge as a standalone adapter (a backend does it) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateRevertRequest"];
                };
            };
            responses: {
                /** @description The queued revert; its adapter appears when it succeeds. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Revert"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/compressions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your compressions, newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of compressions. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["CompressionList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Compress a ready adapter to a rank, an energy fraction or a byte budget, optionally quantized */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateCompressionRequest"];
                };
            };
            responses: {
                /** @description The queued compression; its adapter appears when it succeeds. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Compression"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/compressions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one compression */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The compression. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Compression"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/base-models/{id}/quantizations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List a base model's quantizations, newest first */
        get: {
            parameters: {
                query?: {
                    /** @description Cursor: the id of the last object of the previous page. */
                    after?: string;
                    /** @description Page size, 1-100 (default 20). */
                    limit?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description A page of quantizations. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["QuantizationList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Quantize a base model once to int4 or int8 and store it, to serve as "<base>@int<bits>" */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CreateQuantizationRequest"];
                };
            };
            responses: {
                /** @description The queued quantization; "<base>@int<bits>" serves it once it succeeds. */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Quantization"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/base-models/{id}/quantizations/{quantization_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get one quantization */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                    quantization_id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The quantization. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Quantization"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/chat/completions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Chat completion with a base model, an adapter, a mix of adapters, a merge or a reverted task of a merge */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ChatCompletionRequest"];
                };
            };
            responses: {
                /** @description The completion (JSON), or server-sent events when `stream` is true. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ChatCompletion"];
                        "text/event-stream": string;
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Every backend tried failed before answering. */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No backend can take the request now; retry after the Retry-After seconds. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/completions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Text completion with a base model, an adapter, a mix of adapters, a merge or a reverted task of a merge */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CompletionRequest"];
                };
            };
            responses: {
                /** @description The completion (JSON), or server-sent events when `stream` is true. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Completion"];
                        "text/event-stream": string;
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Every backend tried failed before answering. */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No backend can take the request now; retry after the Retry-After seconds. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/embeddings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Embeddings of texts or token ids from a base model, an adapter, a mix of adapters, a merge or a reverted task of a merge: the last hidden state (after the final norm), mean-pooled (or the last token with `pooling: "last"`), L2-normalized */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["EmbeddingRequest"];
                };
            };
            responses: {
                /** @description The embeddings, in input order. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["EmbeddingList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Every backend tried failed before answering. */
                502: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No backend can take the request now; retry after the Retry-After seconds. */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every model id you can call: base models, ready adapters (each name at the version it serves, other ready versions as `<name>@v<n>`), succeeded merges and their member tasks */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The models. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ModelList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One model id you can call (as listed by GET /v1/models); URL-encode it, e.g. tiny-llama%3Atask-a */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The model. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Model"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/backends/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Register a backend or refresh it; only backends with a fresh heartbeat get inference traffic */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["Heartbeat"];
                };
            };
            responses: {
                /** @description Recorded. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["HeartbeatAck"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body names another backend than the credential's; a backend acts only as itself. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/tasks/claim": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Claim the oldest claimable task of the given kinds under a lease (null when there is none) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["ClaimRequest"];
                };
            };
            responses: {
                /** @description The claimed task with everything needed to do it, or null. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ClaimResponse"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body names another backend than the credential's; a backend acts only as itself. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/tasks/{kind}/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The spec of a task this backend holds or held (its lease owner); others answer 404 */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    kind: "fine_tuning" | "merge" | "compression" | "revert" | "quantization";
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The task spec. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TaskSpec"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/tasks/{kind}/{id}/renew": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Extend the lease; the answer says whether the user cancelled meanwhile */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    kind: "fine_tuning" | "merge" | "compression" | "revert" | "quantization";
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["BackendRef"];
                };
            };
            responses: {
                /** @description The task state and new lease expiry. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TaskState"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body names another backend than the credential's; a backend acts only as itself. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/tasks/{kind}/{id}/complete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Finish a task; produced adapters are verified like uploads before they are registered, merge artifacts by their manifest (contracts/formats/job-artifacts.ts) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    kind: "fine_tuning" | "merge" | "compression" | "revert" | "quantization";
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CompleteRequest"];
                };
            };
            responses: {
                /** @description Succeeded. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TaskState"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body names another backend than the credential's; a backend acts only as itself. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The output failed its check; the task is now failed (message says why). */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TaskState"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/tasks/{kind}/{id}/fail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Give up on a task with a reason the user will read */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    kind: "fine_tuning" | "merge" | "compression" | "revert" | "quantization";
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["FailRequest"];
                };
            };
            responses: {
                /** @description Failed. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TaskState"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body names another backend than the credential's; a backend acts only as itself. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/fine_tuning/jobs/{id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Report training events (step, loss, tokens/s); the answer carries the task state */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["EventsReport"];
                };
            };
            responses: {
                /** @description Recorded. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TaskState"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body names another backend than the credential's; a backend acts only as itself. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/internal/v1/fine_tuning/jobs/{id}/checkpoints": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Record a checkpoint written under the job's output_prefix; a re-claimed job resumes from the latest */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["CheckpointReport"];
                };
            };
            responses: {
                /** @description Recorded. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["TaskState"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The body names another backend than the credential's; a backend acts only as itself. */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description No such object for this API key (other tenants' objects are invisible). */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description The object is not in a state that allows this; the message says which state is needed. */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/residency": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Per backend with a fresh heartbeat: the models and adapters it has loaded, their bytes, last use and pins (operator only) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description One entry per fresh backend, by id. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["ResidencyList"];
                    };
                };
                /** @description Malformed JSON, unknown fields or wrong types; the message names the field and what to send. */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Missing, unknown or revoked API key. */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Request body over the limit for this route. */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Wrong Content-Type. */
                415: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        CreatedTenant: {
            tenant: components["schemas"]["Tenant"];
            api_key: components["schemas"]["NewApiKey"];
        };
        Tenant: {
            id: string;
            /** @enum {string} */
            object: "tenant";
            name: string;
            /** @description Unix time in seconds. */
            created_at: number;
        };
        NewApiKey: components["schemas"]["ApiKey"] & {
            key: string;
        };
        ApiKey: {
            id: string;
            /** @enum {string} */
            object: "api_key";
            name: string;
            /** @description The first characters of the key, to tell keys apart. */
            prefix: string;
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            revoked_at: number | null;
        };
        Error: {
            error: {
                /** @description What went wrong and what to change. */
                message: string;
                type: string;
                code: string | null;
                param: string | null;
            };
        };
        CreateTenantRequest: {
            name: string;
        };
        CreateApiKeyRequest: {
            name: string;
        };
        ApiKeyList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["ApiKey"][];
        };
        NewBackendCredential: components["schemas"]["BackendCredential"] & {
            /** @description The backend's BACKEND_TOKEN (shown once). */
            token: string;
        };
        BackendCredential: {
            id: string;
            /** @enum {string} */
            object: "backend_credential";
            backend_id: string;
            /** @description The first characters of the token, to tell credentials apart. */
            prefix: string;
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            revoked_at: number | null;
        };
        CreateBackendCredentialRequest: {
            /** @description The backend this credential acts as (its BACKEND_ID); a new id when omitted. Issuing another for the same id rotates: both work until one is revoked. */
            backend_id?: string;
        };
        BackendCredentialList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["BackendCredential"][];
        };
        BaseModel: {
            id: string;
            /** @enum {string} */
            object: "base_model";
            name: string;
            storage_prefix: string;
            /** @enum {string} */
            family: "llama" | "mistral" | "qwen2";
            num_layers: number;
            hidden_size: number;
            vocab_size: number;
            context_length: number;
            /** @description Unix time in seconds. */
            created_at: number;
        };
        CreateBaseModelRequest: {
            /** @description What `model` strings call it, e.g. "llama-3.1-8b". */
            name: string;
            /**
             * @description Where config.json and the safetensors weights are in the bucket.
             * @example models/tiny-llama/
             */
            storage_prefix: string;
        };
        BaseModelList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["BaseModel"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        Deleted: {
            id: string;
            object: string;
            /** @enum {boolean} */
            deleted: true;
        };
        CreatedAdapter: {
            adapter: components["schemas"]["Adapter"];
            upload: {
                /** @description Unix time in seconds. */
                expires_at: number;
                files: components["schemas"]["UploadTarget"][];
                commit: {
                    /** @enum {string} */
                    method: "PUT" | "GET" | "POST";
                    url: string;
                    headers: {
                        [key: string]: string;
                    };
                };
            };
        };
        Adapter: {
            id: string;
            /** @enum {string} */
            object: "adapter";
            name: string;
            /** @description 1, 2, … per name: an upload to an existing name makes its next version. */
            version: number;
            /** @description Whether the bare name serves this version (`<name>@v<n>` calls any version). */
            current: boolean;
            /** @description Name of the base model. */
            base_model: string;
            /** @description What to pass as `model` for inference, once ready: `<base>:<name>` while current, else `<base>:<name>@v<n>`. */
            model: string | null;
            /** @enum {string} */
            status: "uploading" | "ready" | "rejected";
            rejection: {
                code: string;
                message: string;
            } | null;
            rank: number | null;
            target_modules: string[] | null;
            size_bytes: number | null;
            sha256: string | null;
            /** @enum {string} */
            source: "upload" | "training" | "merge" | "revert" | "compression";
            source_id: string | null;
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            ready_at: number | null;
            /** @description Kept loaded on the backend its requests route to, and on the next one when routing moves (POST /v1/adapters/{id}/pin; DELETE to unpin). */
            pinned: boolean;
        };
        UploadTarget: {
            /** @enum {string} */
            filename: "adapter_config.json" | "adapter_model.safetensors";
            bytes: number;
            /** @description Send the file straight to object storage with exactly these headers. */
            presigned: {
                /** @enum {string} */
                method: "PUT" | "GET" | "POST";
                url: string;
                headers: {
                    [key: string]: string;
                };
            };
            /** @description Or stream it through the edge (small files only); needs your API key. */
            edge: {
                /** @enum {string} */
                method: "PUT" | "GET" | "POST";
                url: string;
                headers: {
                    [key: string]: string;
                };
            } | null;
        };
        CreateAdapterRequest: {
            /** @description A new name, or the name of one of your adapters of this base: the upload is then its next version, which the name serves once committed. */
            name: string;
            /** @description Name or id of one of your base models. */
            base_model: string;
            /** @description The two PEFT files, as `save_pretrained` writes them. */
            files: {
                /** @enum {string} */
                filename: "adapter_config.json" | "adapter_model.safetensors";
                /** @description Exact size; presigned URLs accept only this many bytes. */
                bytes: number;
                /** @description If given, the commit refuses a file with another SHA-256. */
                sha256?: string;
            }[];
        };
        UploadedFile: {
            /** @enum {string} */
            filename: "adapter_config.json" | "adapter_model.safetensors";
            bytes: number;
        };
        AdapterRejected: {
            error?: unknown;
        };
        AdapterList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Adapter"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        AdapterDownload: {
            adapter_id: string;
            /** @description Unix time in seconds. */
            expires_at: number;
            files: {
                /** @enum {string} */
                filename: "adapter_config.json" | "adapter_model.safetensors";
                bytes: number;
                url: string;
            }[];
        };
        File: {
            id: string;
            /** @enum {string} */
            object: "file";
            bytes: number;
            /** @description Unix time in seconds. */
            created_at: number;
            filename: string;
            /** @enum {string} */
            purpose: "fine-tune";
            /** @enum {string} */
            status: "processed";
            /** @description Training examples (non-blank lines) in the file. */
            examples: number;
        };
        UploadFileForm: {
            /**
             * Format: binary
             * @description JSONL: one {"prompt","completion"} or {"messages": [...]} object per line.
             */
            file: string;
            /** @enum {string} */
            purpose: "fine-tune";
        };
        FileList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["File"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        FineTuningJob: {
            id: string;
            /** @enum {string} */
            object: "fine_tuning.job";
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            finished_at: number | null;
            model: string;
            fine_tuned_model: string | null;
            organization_id: string;
            /** @enum {string} */
            status: "validating_files" | "queued" | "running" | "succeeded" | "failed" | "cancelled";
            error: {
                code: string;
                message: string;
                param: string | null;
            } | null;
            hyperparameters: components["schemas"]["Hyperparameters"];
            training_file: string;
            validation_file: string | null;
            result_files: string[];
            trained_tokens: number | null;
            seed: number;
            suffix: string | null;
            /** @description The trained adapter, once succeeded. */
            adapter_id: string | null;
        };
        Hyperparameters: {
            /** @default 3 */
            n_epochs?: number;
            /** @default 8 */
            batch_size?: number;
            /** @default 0.001 */
            learning_rate?: number;
            /** @default 8 */
            lora_r?: number;
            /** @default 16 */
            lora_alpha?: number;
            /**
             * @default [
             *       "q_proj",
             *       "v_proj"
             *     ]
             */
            target_modules?: ("q_proj" | "k_proj" | "v_proj" | "o_proj" | "gate_proj" | "up_proj" | "down_proj")[];
        };
        CreateFineTuningJobRequest: {
            /** @description Name or id of the base model to train an adapter for. */
            model: string;
            training_file: string;
            validation_file?: string;
            hyperparameters?: components["schemas"]["Hyperparameters"];
            /** @description Names the adapter `<suffix>-<job id>`; a suffix that is the name of one of your adapters of this base trains its next version instead, which that name serves once the job succeeds. */
            suffix?: string;
            seed?: number;
        };
        FineTuningJobList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["FineTuningJob"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        FineTuningEventList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["FineTuningEvent"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        FineTuningEvent: {
            id: string;
            /** @enum {string} */
            object: "fine_tuning.job.event";
            /** @description Unix time in seconds. */
            created_at: number;
            /** @enum {string} */
            level: "info" | "warn" | "error";
            /** @enum {string} */
            type: "message" | "metrics";
            message: string;
            data: {
                [key: string]: unknown;
            } | null;
        };
        FineTuningCheckpointList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["FineTuningCheckpoint"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        FineTuningCheckpoint: {
            id: string;
            /** @enum {string} */
            object: "fine_tuning.job.checkpoint";
            /** @description Unix time in seconds. */
            created_at: number;
            fine_tuning_job_id: string;
            step_number: number;
            metrics: {
                step: number;
                train_loss: number | null;
                valid_loss: number | null;
            };
            /** @description Where the checkpoint is stored in the bucket. */
            fine_tuned_model_checkpoint: string;
        };
        Merge: {
            id: string;
            /** @enum {string} */
            object: "merge";
            name: string;
            base_model: string;
            /** @description What to pass as `model` once succeeded; `<model>/<adapter>` serves one member task reverted. */
            model: string | null;
            /** @enum {string} */
            method: "rmm_shared" | "rmm_factor" | "rmm_delta" | "task_arithmetic" | "ties" | "dare" | "cat" | "svd" | "linear" | "della" | "breadcrumbs";
            basis_size: number | null;
            density: number | null;
            /** @description Every parameter the merge was given but its weights (those are on members), basis_size and density included. */
            params: {
                [key: string]: number;
            };
            /** @description The adapter versions the merge was built from, in order. */
            members: {
                adapter_id: string;
                name: string;
                /** @description The version of the adapter the merge was built from; it keeps it. */
                version: number;
                /** @description That version alone, as a model id (`<base>:<name>@v<n>`). */
                model: string;
                weight: number | null;
            }[];
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed";
            error: {
                code: string;
                message: string;
            } | null;
            result: components["schemas"]["MergeResult"];
            reverts: components["schemas"]["Revert"][];
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            finished_at: number | null;
        };
        /** @description Once succeeded: per-task reconstruction error and storage, as the backend measured them. */
        MergeResult: {
            /** @description Per member: how far the merge (collapsed) or the task rebuilt from it (rmm_*) is from the member's ΔW. */
            tasks: {
                adapter_id: string;
                name: string;
                /** @description ‖ΔW′ − ΔW‖_F / ‖ΔW‖_F over all modules. */
                relative_error: number;
            }[];
            /** @description Floats the merge stores over the floats of keeping every member's factors (1: as large as all of them). */
            storage_fraction: number;
            /** @description Collapsed merges: the result's rank; null for rmm_*. */
            rank: number | null;
        } | null;
        Revert: {
            id: string;
            /** @enum {string} */
            object: "merge.revert";
            merge_id: string;
            /** @description The member task being reconstructed. */
            adapter: string;
            /** @description Name the reconstructed adapter gets. */
            name: string;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed";
            error: {
                code: string;
                message: string;
            } | null;
            result_adapter_id: string | null;
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            finished_at: number | null;
        };
        CreateMergeRequest: {
            name: string;
            base_model: string;
            /** @description Names or ids of ready adapters of this base model; `<name>@v<n>` picks a version, a bare name the one it serves. */
            adapters: string[];
            /**
             * @description rmm_shared: reversible: per module a shared basis U, V and a small core per task (ΔWᵢ ≈ U·Σᵢ·Vᵀ), the basis size of each module chosen so the merge stores about p tasks’ worth of bytes (float32, or float16 with float_bits 16); rmm_factor: reversible, as published: per row of B and column of A, the tasks’ r-vectors as a mean plus p principal directions; rmm_delta: reversible: p orthonormal basis deltas (top eigenvectors of the tasks’ Gram matrix) and a coefficient per task; task_arithmetic: Σ wᵢ·ΔWᵢ, exact as a concatenation, or truncated to basis_size by SVD; ties: each ΔWᵢ trimmed to density by magnitude, the sign of the total elected, the mean of the agreeing; truncated to the largest member rank; dare: each entry of ΔWᵢ kept with probability density (seeded) and rescaled by 1/density, then summed; truncated to the largest member rank; cat: lora_A rows wᵢ·sᵢ·Aᵢ stacked, lora_B columns Bᵢ: exactly Σ wᵢ·ΔWᵢ at the members’ ranks added up; svd: Σ wᵢ·ΔWᵢ truncated to basis_size by SVD: B = U·S, A = Vᵀ; linear: A = Σ √(wᵢsᵢ)·Aᵢ and B = Σ √(wᵢsᵢ)·Bᵢ merged separately (cross terms included); one rank for all; della: mergekit’s DELLA on whole deltas: each row of ΔWᵢ kept entry by entry with probability density ± epsilon by magnitude rank (MagPrune) and rescaled to its L1 norm, the sign of the weighted sum elected, the weighted mean of the agreeing, times lambda; truncated to the largest member rank; breadcrumbs: mergekit’s Model Breadcrumbs on whole deltas: of each ΔWᵢ the gamma fraction of largest magnitudes and the smallest are dropped so that density is kept, then Σ wᵢ·ΔWᵢ times lambda; truncated to the largest member rank
             * @enum {string}
             */
            method: "rmm_shared" | "rmm_factor" | "rmm_delta" | "task_arithmetic" | "ties" | "dare" | "cat" | "svd" | "linear" | "della" | "breadcrumbs";
            /** @description rmm_shared, rmm_factor, rmm_delta: p, how many tasks' worth of shared basis to keep, at most the number of adapters (default: all of them, every task rebuilt exactly); task_arithmetic: rank of the result, truncated by SVD (default: exact, the members’ ranks added up); svd: rank of the result, at most the members’ ranks added up (default: the largest member rank) */
            basis_size?: number;
            /** @description rmm_shared: bits per stored value of the basis and cores: 32 (default) or 16 (float16: half the bytes, so p tasks' worth of storage holds about twice the basis; every value rounded to 11 significant bits, so even p = n rebuilds each task only to float16 precision) */
            float_bits?: 32 | 16;
            /** @description task_arithmetic, ties, dare, cat, svd, della, breadcrumbs: one per adapter, in order (default 1 each); linear: one per adapter, in order, each ≥ 0 (default 1/n each: the mean) */
            weights?: number[];
            /** @description ties, dare: fraction of each delta’s entries kept (default 0.5); della: mean fraction of each row’s entries kept (default 1, mergekit’s: nothing pruned); breadcrumbs: fraction of each delta’s entries kept (default 1, mergekit’s: nothing dropped) */
            density?: number;
            /** @description della: keep probabilities spread over density ± epsilon by magnitude rank (default 0.15) */
            epsilon?: number;
            /** @description della, breadcrumbs: scales the merged delta (default 1) */
            lambda?: number;
            /** @description breadcrumbs: fraction of the largest-magnitude entries dropped as outliers (default 0.01) */
            gamma?: number;
        };
        MergeList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Merge"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        MergeDownload: {
            merge_id: string;
            /**
             * @description peft_adapter: adapter_config.json and adapter_model.safetensors, a PEFT folder; reversible_basis: basis.json and basis.safetensors.
             * @enum {string}
             */
            layout: "peft_adapter" | "reversible_basis" | "quantized_base";
            /** @description Unix time in seconds. */
            expires_at: number;
            files: {
                filename: string;
                bytes: number;
                url: string;
            }[];
        };
        CreateRevertRequest: {
            /** @description Name or id of the member task to reconstruct. */
            adapter: string;
            /** @description Name of the new adapter (default: "<merge>-<adapter>"). */
            name?: string;
        };
        Compression: {
            id: string;
            /** @enum {string} */
            object: "compression";
            name: string;
            source_adapter_id: string;
            rank: number | null;
            energy: number | null;
            budget_bytes: number | null;
            bits: number;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed";
            error: {
                code: string;
                message: string;
            } | null;
            result_adapter_id: string | null;
            result: components["schemas"]["CompressionResult"];
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            finished_at: number | null;
        };
        /** @description Once succeeded: per-module error and rank, and bytes before and after, as the backend measured them. */
        CompressionResult: {
            modules: {
                path: string;
                from_rank: number;
                rank: number;
                /** @description This module's ‖ΔW′ − ΔW‖_F / ‖ΔW‖_F (truncation and quantization). */
                relative_error: number;
            }[];
            /** @description ‖ΔW′ − ΔW‖_F / ‖ΔW‖_F over all modules. */
            relative_error: number;
            bits: number;
            /** @description The source's float32 factors. */
            bytes_before: number;
            /** @description The factors as stored: float32 after truncation, or quantized (weights, scales, zero points). */
            bytes_after: number;
            storage_ratio: number;
        } | null;
        CreateCompressionRequest: {
            /** @description Name or id of a ready adapter. */
            adapter: string;
            /** @description Name of the compressed adapter (default: "<adapter>-c<bits>"). */
            name?: string;
            /** @description Truncate to this rank. */
            rank?: number;
            /** @description Or keep this fraction of the spectral energy. */
            energy?: number;
            /** @description Or fit the result in this many bytes. */
            budget_bytes?: number;
            /**
             * @description Quantize the factors group-wise (32 values per scale) to 4 or 8 bits; 16: no quantization.
             * @default 16
             */
            bits?: number;
        };
        CompressionList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Compression"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        Quantization: {
            id: string;
            /** @enum {string} */
            object: "base_model.quantization";
            base_model_id: string;
            bits: number;
            group_size: number;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed";
            error: {
                code: string;
                message: string;
            } | null;
            result: components["schemas"]["QuantizationResult"];
            /** @description Unix time in seconds. */
            created_at: number;
            /** @description Unix time in seconds. */
            finished_at: number | null;
        };
        /** @description Once succeeded: the stored bytes, as the backend reported them. */
        QuantizationResult: {
            bits: number;
            group_size: number;
            /** @description The stored weights: codes, scales and zero points of every quantized matrix. */
            packed_bytes: number;
        } | null;
        CreateQuantizationRequest: {
            /** @description Weight width, 8 or 4 bits; served as "<base>@int<bits>". */
            bits: number;
            /**
             * @description Weights per scale (32, 64, 128).
             * @default 128
             */
            group_size?: number;
        };
        QuantizationList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Quantization"][];
            has_more: boolean;
            /** @description Pass as `after` for the next page. */
            last_id: string | null;
        };
        ChatCompletion: {
            id: string;
            /** @enum {string} */
            object: "chat.completion";
            /** @description Unix time in seconds. */
            created: number;
            model: string;
            choices: {
                index: number;
                message: {
                    /** @enum {string} */
                    role: "assistant";
                    content: string | null;
                };
                logprobs?: components["schemas"]["ChatLogprobs"];
                /** @enum {string|null} */
                finish_reason: "stop" | "length" | null;
            }[];
            usage?: {
                prompt_tokens: number;
                completion_tokens: number;
                total_tokens: number;
            };
        };
        ChatLogprobs: {
            content: {
                token: string;
                logprob: number;
                bytes: number[] | null;
                top_logprobs: {
                    token: string;
                    logprob: number;
                    bytes: number[] | null;
                }[];
            }[] | null;
        } | null;
        ChatCompletionRequest: {
            /**
             * @description "<base>", "<base>:<adapter>", "<base>:<merge>" or "<base>:<merge>/<task>"; an adapter or task as "<name>@v<n>" pins one of its versions (a bare name serves the current one); "<base>@int8" or "<base>@int4" in place of "<base>" serves the base model with group-wise int8 or int4 weights (adapters on top unchanged).
             * @example tiny-llama:task_a
             */
            model: string;
            messages: components["schemas"]["ChatMessage"][];
            /** @description The most tokens to generate; `max_tokens` is its older name. Give one of the two, not both. */
            max_completion_tokens?: number;
            /** @description Log-probabilities of the chosen tokens (the model's own distribution). */
            logprobs?: boolean | null;
            top_logprobs?: number | null;
            /** @description `{"type": "text"}` (the default); `{"type": "json_object"}`: the answer is a JSON object; `{"type": "json_schema", "json_schema": {"name", "schema"}}`: the answer is JSON valid under the schema (without a schema, any object). Either JSON mode writes compact JSON (no whitespace between elements) and is decoded under the schema's grammar, so an answer that ends with finish_reason "stop" always parses and validates. A schema construct the grammar engine (xgrammar) cannot compile is refused with 400 `unsupported_json_schema`, naming it. Chat completions only. */
            response_format?: ({
                /** @enum {string} */
                type: "text";
            } & {
                [key: string]: unknown;
            }) | ({
                /** @enum {string} */
                type: "json_object";
            } & {
                [key: string]: unknown;
            }) | ({
                /** @enum {string} */
                type: "json_schema";
                json_schema: {
                    name: string;
                    description?: string;
                    schema?: {
                        [key: string]: unknown;
                    };
                    strict?: boolean | null;
                } & {
                    [key: string]: unknown;
                };
            } & {
                [key: string]: unknown;
            });
            /**
             * @description Mixes up to 8 adapters of the base model named in `model` (which must then be "<base>", not an adapter): the request is served with Σ wᵢ·ΔWᵢ, exactly. Their ranks together may be at most the edge's MAX_MIX_RANK (default 128).
             * @example [
             *       {
             *         "name": "task_a",
             *         "weight": 0.7
             *       },
             *       {
             *         "name": "task_b",
             *         "weight": 0.3
             *       }
             *     ]
             */
            adapters?: {
                /** @description An adapter of the base model in `model`: its name, `<name>@v<n>` for one version, or id. */
                name: string;
                /** @description Its scale wᵢ in Σ wᵢ·ΔWᵢ: any finite number but 0; negative subtracts the task (task negation). */
                weight: number;
            }[];
            max_tokens?: number;
            temperature?: number;
            top_p?: number;
            n?: number;
            stream?: boolean;
            stream_options?: {
                include_usage?: boolean;
                include_obfuscation?: boolean;
            };
            stop?: string | string[];
            seed?: number;
            presence_penalty?: number;
            frequency_penalty?: number;
            user?: string;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate generates plain text with LoRA adapters; tool calls are not served. */
            tools?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate generates plain text with LoRA adapters; tool calls are not served. */
            tool_choice?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate generates plain text with LoRA adapters; tool calls are not served. */
            parallel_tool_calls?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate generates plain text with LoRA adapters; function calls are not served. */
            functions?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate generates plain text with LoRA adapters; function calls are not served. */
            function_call?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. biasing token logits is not implemented. */
            logit_bias?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate generates plain text with LoRA adapters; audio is not served. */
            audio?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate generates plain text with LoRA adapters; text is the only modality. */
            modalities?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. predicted outputs are not implemented. */
            prediction?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. the models served are not reasoning models. */
            reasoning_effort?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. web search is not served. */
            web_search_options?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. the models served have no verbosity setting. */
            verbosity?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate stores no completions to tag. */
            metadata?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate has one service tier. */
            service_tier?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. rankgate keeps no prompt cache across requests. */
            prompt_cache_key?: unknown;
            store?: boolean | null;
            /** @description Accepted, like `user`. */
            safety_identifier?: string;
        };
        ChatMessage: {
            /** @enum {string} */
            role: "system" | "developer" | "user" | "assistant";
            content: string | {
                /** @enum {string} */
                type: "text";
                text: string;
            }[];
            name?: string;
        };
        Completion: {
            id: string;
            /** @enum {string} */
            object: "text_completion";
            /** @description Unix time in seconds. */
            created: number;
            model: string;
            choices: {
                index: number;
                text: string;
                logprobs?: components["schemas"]["CompletionLogprobs"];
                /** @enum {string|null} */
                finish_reason: "stop" | "length" | null;
            }[];
            usage?: {
                prompt_tokens: number;
                completion_tokens: number;
                total_tokens: number;
            };
        };
        CompletionLogprobs: {
            tokens: string[];
            token_logprobs: (number | null)[];
            top_logprobs: {
                [key: string]: number;
            }[] | null;
            text_offset: number[];
        } | null;
        CompletionRequest: {
            /**
             * @description "<base>", "<base>:<adapter>", "<base>:<merge>" or "<base>:<merge>/<task>"; an adapter or task as "<name>@v<n>" pins one of its versions (a bare name serves the current one); "<base>@int8" or "<base>@int4" in place of "<base>" serves the base model with group-wise int8 or int4 weights (adapters on top unchanged).
             * @example tiny-llama:task_a
             */
            model: string;
            prompt: string | string[];
            echo?: boolean;
            /** @description Log-probabilities of the chosen tokens and of this many likeliest alternatives. */
            logprobs?: number | null;
            /**
             * @description Mixes up to 8 adapters of the base model named in `model` (which must then be "<base>", not an adapter): the request is served with Σ wᵢ·ΔWᵢ, exactly. Their ranks together may be at most the edge's MAX_MIX_RANK (default 128).
             * @example [
             *       {
             *         "name": "task_a",
             *         "weight": 0.7
             *       },
             *       {
             *         "name": "task_b",
             *         "weight": 0.3
             *       }
             *     ]
             */
            adapters?: {
                /** @description An adapter of the base model in `model`: its name, `<name>@v<n>` for one version, or id. */
                name: string;
                /** @description Its scale wᵢ in Σ wᵢ·ΔWᵢ: any finite number but 0; negative subtracts the task (task negation). */
                weight: number;
            }[];
            max_tokens?: number;
            temperature?: number;
            top_p?: number;
            n?: number;
            stream?: boolean;
            stream_options?: {
                include_usage?: boolean;
                include_obfuscation?: boolean;
            };
            stop?: string | string[];
            seed?: number;
            presence_penalty?: number;
            frequency_penalty?: number;
            user?: string;
            /** @description Not supported; refused with `unsupported_parameter`. biasing token logits is not implemented. */
            logit_bias?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. insertion (text after the completion) is not implemented. */
            suffix?: unknown;
            /** @description Not supported; refused with `unsupported_parameter`. server-side best-of sampling is not implemented; ask for n choices instead. */
            best_of?: unknown;
        };
        EmbeddingList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Embedding"][];
            model: string;
            usage: {
                prompt_tokens: number;
                total_tokens: number;
            };
        };
        Embedding: {
            /** @enum {string} */
            object: "embedding";
            index: number;
            /** @description Numbers, or a base64 string with `encoding_format: "base64"`. */
            embedding: number[] | string;
        };
        EmbeddingRequest: {
            /**
             * @description "<base>", "<base>:<adapter>", "<base>:<merge>" or "<base>:<merge>/<task>"; an adapter or task as "<name>@v<n>" pins one of its versions (a bare name serves the current one); "<base>@int8" or "<base>@int4" in place of "<base>" serves the base model with group-wise int8 or int4 weights (adapters on top unchanged).
             * @example tiny-llama:task_a
             */
            model: string;
            /** @description A text, up to 256 texts, a list of token ids, or up to 256 lists of token ids (the model's own ids, as its tokenizer writes them; used as given, no BOS added). Texts are tokenized as for a text completion (with the tokenizer's BOS). Each input must fit the model's context. */
            input: string | string[] | number[] | number[][];
            /**
             * @description `float` (the default): arrays of numbers; `base64`: each vector as little-endian float32 bytes, base64-encoded (what the OpenAI SDKs ask for and decode).
             * @enum {string}
             */
            encoding_format?: "float" | "base64";
            /** @description Accepted only as the model's hidden size (its embeddings' length); the models served are not trained to be truncated, so any other value is refused with 400 `unsupported_dimensions`. */
            dimensions?: number;
            /**
             * @description An extension field. `mean` (the default): the average of the last hidden state (after the final norm) over every token of the input, BOS included; `last`: the hidden state at the last token, the only one that has attended to the whole input in a causal decoder. Either way the vector is L2-normalized (unit length), so a dot product is a cosine similarity.
             * @enum {string}
             */
            pooling?: "mean" | "last";
            /**
             * @description Mixes up to 8 adapters of the base model named in `model` (which must then be "<base>", not an adapter): the request is served with Σ wᵢ·ΔWᵢ, exactly. Their ranks together may be at most the edge's MAX_MIX_RANK (default 128).
             * @example [
             *       {
             *         "name": "task_a",
             *         "weight": 0.7
             *       },
             *       {
             *         "name": "task_b",
             *         "weight": 0.3
             *       }
             *     ]
             */
            adapters?: {
                /** @description An adapter of the base model in `model`: its name, `<name>@v<n>` for one version, or id. */
                name: string;
                /** @description Its scale wᵢ in Σ wᵢ·ΔWᵢ: any finite number but 0; negative subtracts the task (task negation). */
                weight: number;
            }[];
            user?: string;
        };
        ModelList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["Model"][];
        };
        Model: {
            id: string;
            /** @enum {string} */
            object: "model";
            /** @description Unix time in seconds. */
            created: number;
            owned_by: string;
        };
        HeartbeatAck: {
            backend_id: string;
            heartbeat_ttl_s: number;
            lease_ttl_s: number;
            /** @description The edge's Ed25519 public key (raw, base64url) that signs the requests it forwards (contracts/api/edge-signature.ts); null when the edge has no EDGE_SIGNING_KEY. */
            edge_public_key: string | null;
            /**
             * @description The pinned adapters this backend is to keep loaded (exempt from its adapter cache eviction): those whose routing key puts this backend first among the fresh ones. A pin missing from the list is released.
             * @default []
             */
            pinned?: {
                tenant_id: string;
                target: {
                    /** @enum {string} */
                    kind: "base" | "adapter" | "merge" | "merge_task" | "mix";
                    base_model: {
                        id: string;
                        name: string;
                        storage_prefix: string;
                    };
                    adapter: {
                        id: string;
                        name: string;
                        storage_prefix: string;
                        rank: number | null;
                    } | null;
                    merge: {
                        id: string;
                        name: string;
                        storage_prefix: string;
                        method: string;
                    } | null;
                    mix?: {
                        id: string;
                        name: string;
                        storage_prefix: string;
                        rank: number | null;
                        weight: number;
                    }[] | null;
                    /** @default null */
                    weight_bits?: 8 | 4 | null;
                    /** @default null */
                    quantized_weights?: {
                        id: string;
                        storage_prefix: string;
                    } | null;
                };
            }[];
        };
        Heartbeat: {
            backend_id: string;
            /**
             * Format: uri
             * @description Where the edge reaches this backend (inference, cancel).
             */
            url: string;
            /** @description Concurrent inference requests it takes. */
            capacity: number;
            /** @description Requests it is serving now; at capacity it gets none. */
            in_flight: number;
            /** @default [] */
            loaded_adapters?: string[];
            /** @description New at every start of the backend: the edge signs what it forwards for this boot, so a request signed before a restart is not served after it (contracts/api/edge-signature.ts). */
            boot_id?: string;
        };
        ClaimResponse: {
            task: components["schemas"]["TaskSpec"];
        };
        TaskSpec: {
            /** @enum {string} */
            kind: "fine_tuning";
            id: string;
            /** @description 1 on the first claim; higher after leases expired. */
            attempt: number;
            /** @description Unix time in seconds. */
            lease_expires_at: number | null;
            base_model: {
                id: string;
                name: string;
                storage_prefix: string;
                config: {
                    [key: string]: unknown;
                };
            };
            /** @description Write results here; PEFT adapters go to `<output_prefix>adapter/`. */
            output_prefix: string;
            training_file: {
                id: string;
                storage_key: string;
            };
            validation_file: {
                id: string;
                storage_key: string;
            } | null;
            hyperparameters: components["schemas"]["Hyperparameters"];
            seed: number;
            suffix: string | null;
            resume_from: {
                checkpoint_id: string;
                step: number;
                storage_prefix: string;
            } | null;
        } | {
            /** @enum {string} */
            kind: "merge";
            id: string;
            /** @description 1 on the first claim; higher after leases expired. */
            attempt: number;
            /** @description Unix time in seconds. */
            lease_expires_at: number | null;
            base_model: {
                id: string;
                name: string;
                storage_prefix: string;
                config: {
                    [key: string]: unknown;
                };
            };
            /** @description Write results here; PEFT adapters go to `<output_prefix>adapter/`. */
            output_prefix: string;
            /** @enum {string} */
            method: "rmm_shared" | "rmm_factor" | "rmm_delta" | "task_arithmetic" | "ties" | "dare" | "cat" | "svd" | "linear" | "della" | "breadcrumbs";
            basis_size: number | null;
            density: number | null;
            /**
             * @description The method's parameters that are not basis_size, density or weights (contracts/api/merge-methods.ts).
             * @default {}
             */
            params?: {
                [key: string]: number;
            };
            members: {
                id: string;
                name: string;
                storage_prefix: string;
                rank: number | null;
                weight: number | null;
            }[];
        } | {
            /** @enum {string} */
            kind: "compression";
            id: string;
            /** @description 1 on the first claim; higher after leases expired. */
            attempt: number;
            /** @description Unix time in seconds. */
            lease_expires_at: number | null;
            base_model: {
                id: string;
                name: string;
                storage_prefix: string;
                config: {
                    [key: string]: unknown;
                };
            };
            /** @description Write results here; PEFT adapters go to `<output_prefix>adapter/`. */
            output_prefix: string;
            source: {
                id: string;
                name: string;
                storage_prefix: string;
                rank: number | null;
            };
            rank: number | null;
            energy: number | null;
            budget_bytes: number | null;
            bits: number;
        } | {
            /** @enum {string} */
            kind: "revert";
            id: string;
            /** @description 1 on the first claim; higher after leases expired. */
            attempt: number;
            /** @description Unix time in seconds. */
            lease_expires_at: number | null;
            base_model: {
                id: string;
                name: string;
                storage_prefix: string;
                config: {
                    [key: string]: unknown;
                };
            };
            /** @description Write results here; PEFT adapters go to `<output_prefix>adapter/`. */
            output_prefix: string;
            merge: {
                id: string;
                /** @enum {string} */
                method: "rmm_shared" | "rmm_factor" | "rmm_delta" | "task_arithmetic" | "ties" | "dare" | "cat" | "svd" | "linear" | "della" | "breadcrumbs";
                storage_prefix: string;
                basis_size: number | null;
                members: {
                    id: string;
                    name: string;
                    storage_prefix: string;
                    rank: number | null;
                    weight: number | null;
                }[];
            };
            /** @description The member task to reconstruct. */
            adapter: {
                id: string;
                name: string;
                storage_prefix: string;
                rank: number | null;
            };
        } | {
            /** @enum {string} */
            kind: "quantization";
            id: string;
            /** @description 1 on the first claim; higher after leases expired. */
            attempt: number;
            /** @description Unix time in seconds. */
            lease_expires_at: number | null;
            base_model: {
                id: string;
                name: string;
                storage_prefix: string;
                config: {
                    [key: string]: unknown;
                };
            };
            /** @description Write results here; PEFT adapters go to `<output_prefix>adapter/`. */
            output_prefix: string;
            bits: number;
            group_size: number;
        } | null;
        ClaimRequest: {
            backend_id: string;
            /**
             * @default [
             *       "fine_tuning",
             *       "merge",
             *       "compression",
             *       "revert",
             *       "quantization"
             *     ]
             */
            kinds?: ("fine_tuning" | "merge" | "compression" | "revert" | "quantization")[];
        };
        TaskState: {
            id: string;
            /** @enum {string} */
            kind: "fine_tuning" | "merge" | "compression" | "revert" | "quantization";
            status: string;
            /** @description Unix time in seconds. */
            lease_expires_at: number | null;
            /** @description True once the user cancelled: stop, and report nothing more. */
            cancel_requested: boolean;
        };
        BackendRef: {
            backend_id: string;
        };
        CompleteRequest: {
            backend_id: string;
            /** @description Fine-tuning only. */
            trained_tokens?: number;
            /** @description Merges and compressions: what the job measured; at most 131072 bytes as JSON. */
            result?: components["schemas"]["MergeResult"] | components["schemas"]["CompressionResult"] | components["schemas"]["QuantizationResult"];
        };
        FailRequest: {
            backend_id: string;
            error: {
                code: string;
                message: string;
            };
        };
        EventsReport: {
            backend_id: string;
            events: {
                /**
                 * @default info
                 * @enum {string}
                 */
                level?: "info" | "warn" | "error";
                /**
                 * @default message
                 * @enum {string}
                 */
                type?: "message" | "metrics";
                message: string;
                /** @description e.g. {"step": 10, "train_loss": 1.9, "tokens_per_s": 812}; at most 4096 bytes as JSON. */
                data?: {
                    [key: string]: unknown;
                };
            }[];
        };
        CheckpointReport: {
            backend_id: string;
            step: number;
            train_loss?: number;
            valid_loss?: number;
            /** @description Must lie under the task's output_prefix. */
            storage_prefix: string;
        };
        ResidencyList: {
            /** @enum {string} */
            object: "list";
            data: components["schemas"]["BackendResidencyEntry"][];
        };
        BackendResidencyEntry: {
            /** @enum {string} */
            object: "backend_residency";
            backend_id: string;
            url: string;
            /** @description Unix milliseconds of its last heartbeat. */
            last_heartbeat_at: number;
            in_flight: number;
            capacity: number;
            residency: components["schemas"]["BackendResidency"];
            /** @description Why the backend gave no residency (unreachable, timed out, an error status). */
            error: string | null;
        };
        /** @description What it has loaded; null when it did not answer (see `error`). */
        BackendResidency: {
            models: components["schemas"]["ResidentModel"][];
            adapters: components["schemas"]["ResidentAdapter"][];
        } | null;
        ResidentModel: {
            /** @description The base model id, with `@int8`/`@int4` (and the quantization id) for a quantized variant. */
            id: string;
            /** @description Bytes of weights as served (float32, or packed int8/int4). */
            bytes: number;
            /** @description Unix milliseconds of the last request that used it here; null while it loads. */
            last_used_at: number | null;
            loading: boolean;
        };
        ResidentAdapter: {
            /** @description The adapter id; `merge:<id>:mean`, `merge:<id>/<adapter>` or `mix:…` for what the backend rebuilt. */
            id: string;
            /** @description Bytes of its factors (float32); null while it loads. */
            bytes: number | null;
            /** @description Unix milliseconds of the last request that used it here; null while it loads. */
            last_used_at: number | null;
            pinned: boolean;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
