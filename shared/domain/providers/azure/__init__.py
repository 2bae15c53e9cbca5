"""Azure OpenAI: Monitor metric counts, Cost Management rows, the service principal connection.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
