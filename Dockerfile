FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install --no-cache-dir -e . \
 && DEBUG=1 python manage.py compilemessages --ignore=.venv \
 && DEBUG=1 python manage.py collectstatic --noinput
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["gunicorn", "satisfaction.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]
