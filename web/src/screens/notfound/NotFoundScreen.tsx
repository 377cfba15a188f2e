import { useEffect } from "react";
import { Link } from "react-router-dom";

export default function NotFoundScreen() {
  useEffect(() => {
    document.title = "Page not found · Atelier";
  }, []);
  return (
    <section aria-labelledby="notfound-heading" className="panel narrow">
      <h1 id="notfound-heading">Page not found</h1>
      <p>There is nothing at this address.</p>
      <Link to="/">Go to the gallery</Link>
    </section>
  );
}
