from smsbulk import create_app

app = create_app()
