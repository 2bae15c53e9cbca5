"""Amazon Bedrock: CloudWatch counts, Cost Explorer and CUR 2.0 export rows, the role (or access key) connection.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
