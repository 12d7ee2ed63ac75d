//! The `openai` adapter: any OpenAI-compatible server over HTTP.
