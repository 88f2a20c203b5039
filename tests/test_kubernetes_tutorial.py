"""rules.TUTORIAL_DEPLOYMENT: the tutorial's Deployment lesson 11 quotes is valid and unsafe."""

from mlops_course.kubernetes import manifests, rules, schemas


def test_the_tutorial_deployment_is_valid_but_breaks_every_deployment_rule():
    tutorial = manifests.parse_manifests(rules.TUTORIAL_DEPLOYMENT)
    assert schemas.validation_errors(schemas.validate(tutorial, ["1.37"])) == []
    broken = {problem.split(": ", 1)[1] for problem in rules.review(tutorial)}
    assert {"readiness probe", "memory limit", "fixed image tag", "runAsNonRoot true"} <= broken
