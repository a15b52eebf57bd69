from publisher import create_app

app = create_app()
