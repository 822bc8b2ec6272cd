


def unavailable_errors() -> tuple[type[Exception], ...]:
    """What a store call raises when AWS refused or could not be reached (throttling, an outage), as
    opposed to a domain rule: callers that go on with other items catch these."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    return ClientError, BotoCoreError, PynamoDBException
