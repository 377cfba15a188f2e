"""Inference providers (local, OpenAI Images, BytePlus ModelArk, RunPod, Replicate), each behind
the `InferenceProvider` interface."""
