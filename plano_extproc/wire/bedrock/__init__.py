"""Amazon Bedrock Converse, as an upstream's API: JSON answers and AWS event streams."""
