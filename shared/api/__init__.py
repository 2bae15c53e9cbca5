"""The public REST contract: request/response models and the routes each deploy unit serves."""
