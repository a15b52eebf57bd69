from publisher.models import PageState


def test_a_new_database_has_one_page_state_row(app):
    from publisher.extensions import db

    assert db.session.get(PageState, 1).version == 1


def test_publishing_an_update_bumps_the_page_version(app, make):
    from publisher.extensions import db

    before = db.session.get(PageState, 1).version
    make.incident()
    db.session.expire_all()
    assert db.session.get(PageState, 1).version > before


def test_an_internal_draft_does_not_bump_the_page_version(app, make):
    from publisher.extensions import db
    from publisher.models import Audience

    incident = make.incident()
    db.session.expire_all()
    before = db.session.get(PageState, 1).version
    make.draft(incident, audience=Audience.INTERNAL)
    db.session.expire_all()
    assert db.session.get(PageState, 1).version == before
